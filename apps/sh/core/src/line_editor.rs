//! A line editor with history for a serial terminal that speaks VT100/xterm.
//!
//! The shell feeds it every byte read from the console and writes back the echo bytes it
//! produces; the editor never reads the screen, so everything it echoes moves the cursor relative
//! to where the editor left it. Only a redraw (Ctrl-L) returns to the start of the row, and
//! rewrites the prompt there. The editor assumes the prompt and the line fit on one terminal
//! row, and that every character takes one column.
//!
//! Input bytes are decoded as UTF-8: a character's bytes are gathered before it is inserted, so
//! the line never holds half a character, and bytes that form no character become U+FFFD (as the
//! terminal would show them). Escape sequences are parsed to their end; the ones that are not
//! editing keys are swallowed whole.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::mem;

/// Longest line the editor accepts, in bytes of UTF-8; input that would make it longer rings the
/// bell instead.
pub const MAX_LINE_BYTES: usize = 4096;

const BELL: u8 = 0x07;
const ESCAPE: u8 = 0x1b;
/// Moves the cursor one column left without erasing.
const BACKSPACE: u8 = 0x08;
/// Erases from the cursor to the end of the row.
const ERASE_TO_END: &[u8] = b"\x1b[K";

/// What a byte fed to the editor meant to the shell, when it completed more than an edit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Enter: the edited line, without its line ending.
    Line(String),
    /// Ctrl-C: the line being edited was discarded.
    Interrupt,
    /// Ctrl-D on an empty line: the user has no more input.
    EndOfInput,
}

/// A decoded key press.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Insert(char),
    Backspace,
    Delete,
    Left,
    Right,
    Home,
    End,
    Up,
    Down,
    Enter,
    Interrupt,
    EndOfInput,
    ClearLine,
    KillToEnd,
    Redraw,
}

/// Where the input decoder is in a multi-byte sequence.
#[derive(Clone, Copy, Debug)]
enum InputState {
    /// Between keys.
    Ground,
    /// Inside a UTF-8 character: the bytes so far (`received` of them) and how many it takes.
    Utf8 {
        bytes: [u8; 4],
        received: usize,
        needed: usize,
    },
    /// After ESC.
    Escape,
    /// Inside a control sequence (ESC `[`). Keys carry at most a number and a modifier, so only
    /// the first number is kept; `plain` turns false at any byte that no key sends.
    ControlSequence {
        first_number: u16,
        in_first_number: bool,
        plain: bool,
    },
    /// After ESC `O`, which xterm sends for some keys in application mode.
    SingleShift,
}

/// Edits one line at a time and remembers the lines entered before.
#[derive(Clone, Debug)]
pub struct LineEditor {
    prompt: String,
    line: Vec<char>,
    /// Bytes the line takes as UTF-8, kept so inserting needs no count of the whole line.
    line_bytes: usize,
    /// Position of the cursor in `line`, in characters (and so in columns after the prompt).
    cursor: usize,
    input: InputState,
    /// Whether the previous byte was `\r`, so that the `\n` of a `\r\n` pair ends no second line.
    after_carriage_return: bool,
    history: VecDeque<String>,
    history_capacity: usize,
    /// The history entry shown while walking the history, if any.
    history_position: Option<usize>,
    /// The line that was being edited when the walk through the history began.
    draft: Vec<char>,
}

impl LineEditor {
    /// An editor with an empty line, no prompt and room for `history_capacity` history entries
    /// (none when zero).
    pub fn new(history_capacity: usize) -> LineEditor {
        LineEditor {
            prompt: String::new(),
            line: Vec::new(),
            line_bytes: 0,
            cursor: 0,
            input: InputState::Ground,
            after_carriage_return: false,
            history: VecDeque::new(),
            history_capacity,
            history_position: None,
            draft: Vec::new(),
        }
    }

    /// Sets the prompt the shell writes before each line, which a redraw rewrites. The editor
    /// never writes it otherwise, and the prompt may hold escape sequences (colours).
    pub fn set_prompt(&mut self, prompt: &str) {
        self.prompt.clear();
        self.prompt.push_str(prompt);
    }

    /// The lines entered so far, oldest first: each is not blank and differs from the one
    /// before it.
    pub fn history(&self) -> impl Iterator<Item = &str> {
        self.history.iter().map(String::as_str)
    }

    /// Takes one byte of terminal input. Appends to `echo` exactly the bytes to write to the
    /// terminal so that it shows the prompt, the edited line and the cursor where they now are,
    /// and returns what the byte completed, if anything.
    pub fn feed(&mut self, byte: u8, echo: &mut Vec<u8>) -> Option<Event> {
        let after_carriage_return = mem::replace(&mut self.after_carriage_return, byte == b'\r');
        match mem::replace(&mut self.input, InputState::Ground) {
            InputState::Ground => {}
            InputState::Utf8 {
                mut bytes,
                mut received,
                needed,
            } => {
                if is_utf8_continuation(byte) {
                    bytes[received] = byte;
                    received += 1;
                    if received < needed {
                        self.input = InputState::Utf8 {
                            bytes,
                            received,
                            needed,
                        };
                        return None;
                    }
                    // Complete, but still possibly an overlong form or a surrogate.
                    let character = core::str::from_utf8(&bytes[..received])
                        .ok()
                        .and_then(|text| text.chars().next())
                        .unwrap_or(char::REPLACEMENT_CHARACTER);
                    return self.press(Key::Insert(character), echo);
                }
                // The character was cut short; the byte starts something new.
                self.press(Key::Insert(char::REPLACEMENT_CHARACTER), echo);
            }
            InputState::Escape => match byte {
                b'[' => {
                    self.input = InputState::ControlSequence {
                        first_number: 0,
                        in_first_number: true,
                        plain: true,
                    };
                    return None;
                }
                b'O' => {
                    self.input = InputState::SingleShift;
                    return None;
                }
                // ESC and a character: Alt with a key, which edits nothing.
                0x20..=0x7e => return None,
                _ => {}
            },
            InputState::ControlSequence {
                first_number,
                in_first_number,
                plain,
            } => {
                let continued = match byte {
                    b'0'..=b'9' if in_first_number => InputState::ControlSequence {
                        first_number: first_number
                            .saturating_mul(10)
                            .saturating_add(u16::from(byte - b'0')),
                        in_first_number,
                        plain,
                    },
                    b'0'..=b'9' | b';' => InputState::ControlSequence {
                        first_number,
                        in_first_number: false,
                        plain,
                    },
                    // Other parameter bytes and intermediate bytes: no key sends them.
                    0x20..=0x3f => InputState::ControlSequence {
                        first_number,
                        in_first_number: false,
                        plain: false,
                    },
                    0x40..=0x7e => {
                        return match control_sequence_key(first_number, byte) {
                            Some(key) if plain => self.press(key, echo),
                            _ => None,
                        };
                    }
                    // A control byte or a non-ASCII byte cuts the sequence short.
                    _ => return self.ground(byte, after_carriage_return, echo),
                };
                self.input = continued;
                return None;
            }
            InputState::SingleShift => match byte {
                0x20..=0x3f => {
                    self.input = InputState::SingleShift;
                    return None;
                }
                0x40..=0x7e => {
                    return single_shift_key(byte).and_then(|key| self.press(key, echo));
                }
                _ => {}
            },
        }
        self.ground(byte, after_carriage_return, echo)
    }

    /// Takes a byte that begins a key.
    fn ground(
        &mut self,
        byte: u8,
        after_carriage_return: bool,
        echo: &mut Vec<u8>,
    ) -> Option<Event> {
        let key = match byte {
            b'\r' => Key::Enter,
            b'\n' if after_carriage_return => return None,
            b'\n' => Key::Enter,
            0x01 => Key::Home,
            0x02 => Key::Left,
            0x03 => Key::Interrupt,
            0x04 => Key::EndOfInput,
            0x05 => Key::End,
            0x06 => Key::Right,
            0x0b => Key::KillToEnd,
            0x0c => Key::Redraw,
            0x0e => Key::Down,
            0x10 => Key::Up,
            0x15 => Key::ClearLine,
            BACKSPACE | 0x7f => Key::Backspace,
            ESCAPE => {
                self.input = InputState::Escape;
                return None;
            }
            0x20..=0x7e => Key::Insert(char::from(byte)),
            0xc2..=0xf4 => {
                self.input = InputState::Utf8 {
                    bytes: [byte, 0, 0, 0],
                    received: 1,
                    needed: match byte {
                        0xc2..=0xdf => 2,
                        0xe0..=0xef => 3,
                        _ => 4,
                    },
                };
                return None;
            }
            // A continuation byte with no start, or a byte UTF-8 never uses.
            0x80..=0xff => Key::Insert(char::REPLACEMENT_CHARACTER),
            // Other control characters edit nothing.
            _ => return None,
        };
        self.press(key, echo)
    }

    fn press(&mut self, key: Key, echo: &mut Vec<u8>) -> Option<Event> {
        match key {
            Key::Insert(character) => self.insert(character, echo),
            Key::Backspace => self.backspace(echo),
            Key::Delete => self.delete(echo),
            Key::Left => {
                if self.cursor > 0 {
                    self.cursor -= 1;
                    echo.push(BACKSPACE);
                }
            }
            Key::Right => {
                if let Some(&character) = self.line.get(self.cursor) {
                    // Rewriting the character moves past it in the fewest bytes.
                    push_char(echo, character);
                    self.cursor += 1;
                }
            }
            Key::Home => {
                move_left(echo, self.cursor);
                self.cursor = 0;
            }
            Key::End => {
                move_right(echo, self.line.len() - self.cursor);
                self.cursor = self.line.len();
            }
            Key::Up => self.recall_older(echo),
            Key::Down => self.recall_newer(echo),
            Key::Enter => {
                echo.extend_from_slice(b"\r\n");
                let line: String = self.line.iter().collect();
                self.reset();
                self.remember(&line);
                return Some(Event::Line(line));
            }
            Key::Interrupt => {
                echo.extend_from_slice(b"^C\r\n");
                self.reset();
                return Some(Event::Interrupt);
            }
            Key::EndOfInput => {
                if self.line.is_empty() {
                    self.reset();
                    return Some(Event::EndOfInput);
                }
            }
            Key::ClearLine => self.replace_line(Vec::new(), echo),
            Key::KillToEnd => {
                if self.cursor < self.line.len() {
                    echo.extend_from_slice(ERASE_TO_END);
                    self.remove(self.cursor..self.line.len());
                }
            }
            Key::Redraw => {
                echo.push(b'\r');
                echo.extend_from_slice(self.prompt.as_bytes());
                push_chars(echo, &self.line);
                echo.extend_from_slice(ERASE_TO_END);
                move_left(echo, self.line.len() - self.cursor);
            }
        }
        None
    }

    fn insert(&mut self, character: char, echo: &mut Vec<u8>) {
        if self.line_bytes + character.len_utf8() > MAX_LINE_BYTES {
            echo.push(BELL);
            return;
        }
        self.line.insert(self.cursor, character);
        self.line_bytes += character.len_utf8();
        self.cursor += 1;
        push_char(echo, character);
        // The characters after the cursor shift one column right.
        let tail = &self.line[self.cursor..];
        push_chars(echo, tail);
        move_left(echo, tail.len());
    }

    fn backspace(&mut self, echo: &mut Vec<u8>) {
        if self.cursor == 0 {
            return;
        }
        self.cursor -= 1;
        self.remove(self.cursor..self.cursor + 1);
        echo.push(BACKSPACE);
        self.close_gap(echo);
    }

    fn delete(&mut self, echo: &mut Vec<u8>) {
        if self.cursor == self.line.len() {
            return;
        }
        self.remove(self.cursor..self.cursor + 1);
        self.close_gap(echo);
    }

    /// After one character at the cursor was removed from the line, rewrites the characters
    /// after the cursor one column left and blanks the column they leave.
    fn close_gap(&self, echo: &mut Vec<u8>) {
        let tail = &self.line[self.cursor..];
        push_chars(echo, tail);
        echo.push(b' ');
        move_left(echo, tail.len() + 1);
    }

    fn remove(&mut self, range: core::ops::Range<usize>) {
        let removed_bytes: usize = self.line.drain(range).map(char::len_utf8).sum();
        self.line_bytes -= removed_bytes;
    }

    /// Shows `line` in place of the edited line, with the cursor at its end.
    fn replace_line(&mut self, line: Vec<char>, echo: &mut Vec<u8>) {
        move_left(echo, self.cursor);
        push_chars(echo, &line);
        echo.extend_from_slice(ERASE_TO_END);
        self.line_bytes = line.iter().copied().map(char::len_utf8).sum();
        self.cursor = line.len();
        self.line = line;
    }

    fn recall_older(&mut self, echo: &mut Vec<u8>) {
        let older = match self.history_position {
            None => self.history.len().checked_sub(1),
            Some(position) => position.checked_sub(1),
        };
        let Some(position) = older else {
            return;
        };
        if self.history_position.is_none() {
            self.draft = self.line.clone();
        }
        self.history_position = Some(position);
        let entry = self.history[position].chars().collect();
        self.replace_line(entry, echo);
    }

    fn recall_newer(&mut self, echo: &mut Vec<u8>) {
        let Some(position) = self.history_position else {
            return;
        };
        if position + 1 < self.history.len() {
            self.history_position = Some(position + 1);
            let entry = self.history[position + 1].chars().collect();
            self.replace_line(entry, echo);
        } else {
            self.history_position = None;
            let draft = mem::take(&mut self.draft);
            self.replace_line(draft, echo);
        }
    }

    /// Starts a new, empty line.
    fn reset(&mut self) {
        self.line.clear();
        self.line_bytes = 0;
        self.cursor = 0;
        self.history_position = None;
        self.draft.clear();
    }

    fn remember(&mut self, line: &str) {
        let blank = line.trim().is_empty();
        let repeated = self.history.back().is_some_and(|last| last == line);
        if self.history_capacity == 0 || blank || repeated {
            return;
        }
        if self.history.len() == self.history_capacity {
            self.history.pop_front();
        }
        self.history.push_back(String::from(line));
    }
}

fn is_utf8_continuation(byte: u8) -> bool {
    byte & 0xc0 == 0x80
}

/// The key of a control sequence ending in `final_byte`; modifiers (Ctrl, Shift) are ignored.
fn control_sequence_key(first_number: u16, final_byte: u8) -> Option<Key> {
    match final_byte {
        b'A' => Some(Key::Up),
        b'B' => Some(Key::Down),
        b'C' => Some(Key::Right),
        b'D' => Some(Key::Left),
        b'H' => Some(Key::Home),
        b'F' => Some(Key::End),
        // xterm sends 1 and 4 for Home and End, rxvt 7 and 8.
        b'~' => match first_number {
            1 | 7 => Some(Key::Home),
            3 => Some(Key::Delete),
            4 | 8 => Some(Key::End),
            _ => None,
        },
        _ => None,
    }
}

/// The key of ESC `O` and `final_byte`.
fn single_shift_key(final_byte: u8) -> Option<Key> {
    match final_byte {
        b'A' => Some(Key::Up),
        b'B' => Some(Key::Down),
        b'C' => Some(Key::Right),
        b'D' => Some(Key::Left),
        b'H' => Some(Key::Home),
        b'F' => Some(Key::End),
        _ => None,
    }
}

fn push_char(echo: &mut Vec<u8>, character: char) {
    let mut encoded = [0; 4];
    echo.extend_from_slice(character.encode_utf8(&mut encoded).as_bytes());
}

fn push_chars(echo: &mut Vec<u8>, characters: &[char]) {
    characters
        .iter()
        .for_each(|&character| push_char(echo, character));
}

fn move_left(echo: &mut Vec<u8>, columns: usize) {
    match columns {
        0 => {}
        1 => echo.push(BACKSPACE),
        _ => push_cursor_move(echo, columns, 'D'),
    }
}

fn move_right(echo: &mut Vec<u8>, columns: usize) {
    if columns > 0 {
        push_cursor_move(echo, columns, 'C');
    }
}

/// Writes ESC `[` columns `direction`.
fn push_cursor_move(echo: &mut Vec<u8>, columns: usize, direction: char) {
    echo.extend_from_slice(format!("\x1b[{columns}{direction}").as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PROMPT: &str = "$ ";

    /// The part of a VT100 that the editor's echo drives: rows of characters and a cursor.
    /// It refuses (panics on) any byte the editor has no business sending.
    struct Screen {
        /// Finished rows, above the cursor's.
        scrolled: Vec<String>,
        row: Vec<char>,
        column: usize,
        /// Bytes of an escape sequence or UTF-8 character not yet complete.
        pending: Vec<u8>,
    }

    impl Screen {
        fn new() -> Screen {
            Screen {
                scrolled: Vec::new(),
                row: Vec::new(),
                column: 0,
                pending: Vec::new(),
            }
        }

        fn write(&mut self, bytes: &[u8]) {
            bytes.iter().for_each(|&byte| self.write_byte(byte));
        }

        fn write_byte(&mut self, byte: u8) {
            if !self.pending.is_empty() || byte == ESCAPE || byte >= 0x80 {
                self.pending.push(byte);
                self.finish_pending();
                return;
            }
            match byte {
                b'\r' => self.column = 0,
                b'\n' => {
                    let row: String = self.row.drain(..).collect();
                    self.scrolled.push(row);
                }
                BACKSPACE => self.column = self.column.saturating_sub(1),
                BELL => {}
                0x20..=0x7e => self.put(char::from(byte)),
                _ => panic!("the editor wrote control byte {byte:#04x}"),
            }
        }

        fn finish_pending(&mut self) {
            if self.pending[0] == ESCAPE {
                let Some(&last) = self.pending.last() else {
                    return;
                };
                if self.pending.len() < 3 || !(0x40..=0x7e).contains(&last) {
                    return;
                }
                let sequence = String::from_utf8(mem::take(&mut self.pending)).unwrap();
                let count = || -> usize {
                    let digits = &sequence[2..sequence.len() - 1];
                    if digits.is_empty() {
                        1
                    } else {
                        digits.parse().unwrap()
                    }
                };
                match last {
                    b'K' => {
                        assert_eq!(sequence, "\x1b[K");
                        self.row.truncate(self.column);
                    }
                    b'D' => self.column = self.column.saturating_sub(count()),
                    b'C' => self.column += count(),
                    _ => panic!("the editor wrote escape sequence {sequence:?}"),
                }
            } else if let Ok(text) = core::str::from_utf8(&self.pending) {
                let character = text.chars().next().unwrap();
                self.pending.clear();
                self.put(character);
            } else {
                assert!(self.pending.len() < 4, "the editor wrote bad UTF-8");
            }
        }

        fn put(&mut self, character: char) {
            if self.column < self.row.len() {
                self.row[self.column] = character;
            } else {
                self.row.resize(self.column, ' ');
                self.row.push(character);
            }
            self.column += 1;
        }

        /// The cursor's row without the blanks that end it.
        fn visible_row(&self) -> String {
            let row: String = self.row.iter().collect();
            String::from(row.trim_end_matches(' '))
        }
    }

    /// An editor on a screen, as the shell runs it: the shell writes the prompt before each line.
    struct Terminal {
        editor: LineEditor,
        screen: Screen,
        events: Vec<Event>,
    }

    impl Terminal {
        fn new() -> Terminal {
            let mut editor = LineEditor::new(4);
            editor.set_prompt(PROMPT);
            let mut screen = Screen::new();
            screen.write(PROMPT.as_bytes());
            Terminal {
                editor,
                screen,
                events: Vec::new(),
            }
        }

        /// Feeds `bytes` one at a time, checking the screen after each.
        fn type_bytes(&mut self, bytes: &[u8]) {
            for &byte in bytes {
                let mut echo = Vec::new();
                let event = self.editor.feed(byte, &mut echo);
                self.screen.write(&echo);
                if let Some(event) = event {
                    if event != Event::EndOfInput {
                        assert_eq!(
                            self.screen.column, 0,
                            "a finished line leaves the cursor at the start of a row"
                        );
                        self.screen.write(PROMPT.as_bytes());
                    }
                    self.events.push(event);
                }
                self.check_screen();
            }
        }

        fn type_text(&mut self, text: &str) {
            self.type_bytes(text.as_bytes());
        }

        fn check_screen(&self) {
            let mut expected = String::from(PROMPT);
            expected.extend(self.editor.line.iter());
            assert_eq!(self.screen.visible_row(), expected.trim_end_matches(' '));
            assert_eq!(self.screen.column, PROMPT.len() + self.editor.cursor);
            assert_eq!(
                self.editor.line_bytes,
                self.editor
                    .line
                    .iter()
                    .copied()
                    .map(char::len_utf8)
                    .sum::<usize>()
            );
        }

        fn line(&self) -> String {
            self.editor.line.iter().collect()
        }

        fn cursor(&self) -> usize {
            self.editor.cursor
        }
    }

    /// The bytes `feed` echoes for `input`, and what it returned last.
    fn echo_of(editor: &mut LineEditor, input: &[u8]) -> (Vec<u8>, Option<Event>) {
        let mut echo = Vec::new();
        let mut last = None;
        for &byte in input {
            last = editor.feed(byte, &mut echo);
        }
        (echo, last)
    }

    const LEFT: &str = "\x1b[D";
    const RIGHT: &str = "\x1b[C";
    const UP: &str = "\x1b[A";
    const DOWN: &str = "\x1b[B";

    #[test]
    fn typing_at_the_end_echoes_only_the_typed_bytes() {
        let mut editor = LineEditor::new(0);
        assert_eq!(echo_of(&mut editor, b"ls -l"), (b"ls -l".to_vec(), None));
        assert_eq!(
            echo_of(&mut editor, "é".as_bytes()),
            ("é".as_bytes().to_vec(), None)
        );
    }

    #[test]
    fn enter_returns_the_line_and_starts_a_new_one() {
        let mut editor = LineEditor::new(0);
        echo_of(&mut editor, b"echo hi");
        let (echo, event) = echo_of(&mut editor, b"\r");
        assert_eq!(echo, b"\r\n");
        assert_eq!(event, Some(Event::Line(String::from("echo hi"))));
        assert_eq!(
            echo_of(&mut editor, b"\n").1,
            None,
            "the \\n of \\r\\n ends no line"
        );
        assert_eq!(
            echo_of(&mut editor, b"\n").1,
            Some(Event::Line(String::new()))
        );
        assert_eq!(
            echo_of(&mut editor, b"x\n").1,
            Some(Event::Line(String::from("x")))
        );
    }

    #[test]
    fn a_carriage_return_and_line_feed_pair_gives_one_line() {
        let mut terminal = Terminal::new();
        terminal.type_text("a\r\nb\r\n\r\n");
        assert_eq!(
            terminal.events,
            [
                Event::Line(String::from("a")),
                Event::Line(String::from("b")),
                Event::Line(String::new())
            ]
        );
    }

    #[test]
    fn backspace_at_the_end_erases_one_column() {
        let mut editor = LineEditor::new(0);
        echo_of(&mut editor, b"ab");
        assert_eq!(echo_of(&mut editor, b"\x7f").0, b"\x08 \x08");
        assert_eq!(echo_of(&mut editor, b"\x08").0, b"\x08 \x08");
        assert_eq!(echo_of(&mut editor, b"\x7f").0, b"", "nothing to erase");
        assert_eq!(
            echo_of(&mut editor, b"\r").1,
            Some(Event::Line(String::new()))
        );
    }

    #[test]
    fn backspace_removes_a_whole_multi_byte_character() {
        let mut terminal = Terminal::new();
        terminal.type_text("a€😀\x7f");
        assert_eq!(terminal.line(), "a€");
        terminal.type_text("\x7f");
        assert_eq!(terminal.line(), "a");
        terminal.type_text("\r");
        assert_eq!(terminal.events, [Event::Line(String::from("a"))]);
    }

    #[test]
    fn typing_in_the_middle_inserts_at_the_cursor() {
        let mut terminal = Terminal::new();
        terminal.type_text("ac");
        terminal.type_text(LEFT);
        terminal.type_text("b");
        assert_eq!((terminal.line().as_str(), terminal.cursor()), ("abc", 2));
        terminal.type_text("\x1b[H");
        terminal.type_text("ü");
        assert_eq!((terminal.line().as_str(), terminal.cursor()), ("üabc", 1));
    }

    #[test]
    fn backspace_and_delete_in_the_middle_close_the_gap() {
        let mut terminal = Terminal::new();
        terminal.type_text("abcd");
        terminal.type_text(LEFT);
        terminal.type_text(LEFT);
        terminal.type_text("\x7f");
        assert_eq!((terminal.line().as_str(), terminal.cursor()), ("acd", 1));
        terminal.type_text("\x1b[3~");
        assert_eq!((terminal.line().as_str(), terminal.cursor()), ("ad", 1));
        terminal.type_text("\x1b[3~\x1b[3~");
        assert_eq!((terminal.line().as_str(), terminal.cursor()), ("a", 1));
    }

    #[test]
    fn arrows_move_within_the_line() {
        let mut terminal = Terminal::new();
        terminal.type_text("ab");
        terminal.type_text(RIGHT);
        assert_eq!(terminal.cursor(), 2, "no moving past the end");
        terminal.type_text(LEFT);
        terminal.type_text(LEFT);
        terminal.type_text(LEFT);
        assert_eq!(terminal.cursor(), 0, "no moving before the start");
        terminal.type_text(RIGHT);
        assert_eq!(terminal.cursor(), 1);
        // Application mode and the Ctrl-B / Ctrl-F of Emacs.
        terminal.type_text("\x1bOD");
        assert_eq!(terminal.cursor(), 0);
        terminal.type_text("\x1bOC\x06");
        assert_eq!(terminal.cursor(), 2);
        terminal.type_text("\x02");
        assert_eq!(terminal.cursor(), 1);
    }

    #[test]
    fn every_home_and_end_key_moves_to_the_ends() {
        for (home, end) in [
            ("\x1b[H", "\x1b[F"),
            ("\x1bOH", "\x1bOF"),
            ("\x1b[1~", "\x1b[4~"),
            ("\x1b[7~", "\x1b[8~"),
            ("\x01", "\x05"),
        ] {
            let mut terminal = Terminal::new();
            terminal.type_text("hello");
            terminal.type_text(home);
            assert_eq!(terminal.cursor(), 0, "{home:?}");
            terminal.type_text(end);
            assert_eq!(terminal.cursor(), 5, "{end:?}");
        }
    }

    #[test]
    fn ctrl_u_clears_the_line_and_ctrl_k_its_end() {
        let mut terminal = Terminal::new();
        terminal.type_text("hello");
        terminal.type_text(LEFT);
        terminal.type_text(LEFT);
        terminal.type_text("\x0b");
        assert_eq!((terminal.line().as_str(), terminal.cursor()), ("hel", 3));
        terminal.type_text(LEFT);
        terminal.type_text("\x15");
        assert_eq!((terminal.line().as_str(), terminal.cursor()), ("", 0));
    }

    #[test]
    fn ctrl_l_redraws_prompt_line_and_cursor() {
        let mut editor = LineEditor::new(0);
        editor.set_prompt("> ");
        echo_of(&mut editor, b"abc\x1b[D\x1b[D");
        assert_eq!(echo_of(&mut editor, b"\x0c").0, b"\r> abc\x1b[K\x1b[2D");
        // It repairs a row that something else wrote over.
        let mut terminal = Terminal::new();
        terminal.type_text("x");
        terminal.screen.write(b"\rgarbage");
        terminal.type_text("\x0c");
    }

    #[test]
    fn ctrl_c_discards_the_line() {
        let mut editor = LineEditor::new(4);
        echo_of(&mut editor, b"rm -rf");
        let (echo, event) = echo_of(&mut editor, b"\x03");
        assert_eq!(
            (echo.as_slice(), event),
            (&b"^C\r\n"[..], Some(Event::Interrupt))
        );
        assert_eq!(
            echo_of(&mut editor, b"\r").1,
            Some(Event::Line(String::new()))
        );
        assert_eq!(editor.history().count(), 0);
    }

    #[test]
    fn ctrl_d_ends_input_only_on_an_empty_line() {
        let mut editor = LineEditor::new(0);
        assert_eq!(
            echo_of(&mut editor, b"\x04"),
            (Vec::new(), Some(Event::EndOfInput))
        );
        assert_eq!(echo_of(&mut editor, b"a\x04"), (b"a".to_vec(), None));
        assert_eq!(
            echo_of(&mut editor, b"\r").1,
            Some(Event::Line(String::from("a")))
        );
    }

    #[test]
    fn unknown_escape_sequences_are_swallowed_whole() {
        let mut terminal = Terminal::new();
        // F5, Ctrl-Right, a mouse report, a private sequence, F1 and Alt-x.
        terminal.type_text("\x1b[15~\x1b[1;5C\x1b[<0;3;4M\x1b[?25h\x1bOP\x1bx");
        assert_eq!(terminal.line(), "");
        terminal.type_text("ok");
        assert_eq!(terminal.line(), "ok");
        // A control byte cuts a sequence short and then acts.
        terminal.type_text("\x1b[1\r");
        assert_eq!(terminal.events, [Event::Line(String::from("ok"))]);
    }

    #[test]
    fn bytes_that_are_not_utf8_become_replacement_characters() {
        let mut terminal = Terminal::new();
        // A stray continuation byte, a cut-short character, an overlong form, a byte UTF-8 never
        // uses, then a good character.
        terminal.type_bytes(b"\x80\xc3a\xe0\x80\x80\xff\xc3\xa9");
        assert_eq!(terminal.line(), "\u{fffd}\u{fffd}a\u{fffd}\u{fffd}é");
        // A character cut short by Enter still shows before the line ends.
        terminal.type_bytes(b"\xe2\x82\r");
        assert_eq!(
            terminal.events,
            [Event::Line(String::from(
                "\u{fffd}\u{fffd}a\u{fffd}\u{fffd}é\u{fffd}"
            ))]
        );
    }

    #[test]
    fn other_control_bytes_are_ignored() {
        let mut editor = LineEditor::new(0);
        assert_eq!(echo_of(&mut editor, b"\x00\t\x1f\x07"), (Vec::new(), None));
    }

    #[test]
    fn overlong_lines_ring_the_bell() {
        let mut editor = LineEditor::new(0);
        let (echo, _) = echo_of(&mut editor, &[b'x'; MAX_LINE_BYTES]);
        assert_eq!(echo.len(), MAX_LINE_BYTES);
        assert_eq!(echo_of(&mut editor, b"y").0, [BELL]);
        echo_of(&mut editor, b"\x7f");
        assert_eq!(
            echo_of(&mut editor, "é".as_bytes()).0,
            [BELL],
            "two bytes do not fit in one"
        );
        assert_eq!(echo_of(&mut editor, b"z").0, b"z");
        let Some(Event::Line(line)) = echo_of(&mut editor, b"\r").1 else {
            panic!("Enter gives the line");
        };
        assert_eq!(line.len(), MAX_LINE_BYTES);
    }

    #[test]
    fn history_keeps_distinct_non_blank_lines_up_to_its_capacity() {
        let mut editor = LineEditor::new(3);
        echo_of(&mut editor, b"one\rtwo\rtwo\r\r  \rone\rthree\rfour\r");
        assert_eq!(
            editor.history().collect::<Vec<_>>(),
            ["one", "three", "four"]
        );
        let mut without_history = LineEditor::new(0);
        echo_of(&mut without_history, b"one\r");
        assert_eq!(without_history.history().count(), 0);
    }

    #[test]
    fn up_and_down_walk_the_history_and_return_to_the_draft() {
        let mut terminal = Terminal::new();
        terminal.type_text("first\rsecond\rdraft");
        terminal.type_text(LEFT);
        terminal.type_text(UP);
        assert_eq!((terminal.line().as_str(), terminal.cursor()), ("second", 6));
        terminal.type_text(UP);
        assert_eq!(terminal.line(), "first");
        terminal.type_text(UP);
        assert_eq!(terminal.line(), "first", "nothing older");
        terminal.type_text(DOWN);
        assert_eq!(terminal.line(), "second");
        terminal.type_text(DOWN);
        assert_eq!((terminal.line().as_str(), terminal.cursor()), ("draft", 5));
        terminal.type_text(DOWN);
        assert_eq!(terminal.line(), "draft", "nothing newer");
        // Ctrl-P and Ctrl-N, and application mode.
        terminal.type_text("\x10\x1bOA");
        assert_eq!(terminal.line(), "first");
        terminal.type_text("\x0e\x1bOB");
        assert_eq!(terminal.line(), "draft");
    }

    #[test]
    fn an_edited_history_entry_is_entered_as_edited() {
        let mut terminal = Terminal::new();
        terminal.type_text("cat a\r");
        terminal.type_text(UP);
        terminal.type_text("b\r");
        assert_eq!(terminal.events[1], Event::Line(String::from("cat ab")));
        assert_eq!(
            terminal.editor.history().collect::<Vec<_>>(),
            ["cat a", "cat ab"]
        );
        // The walk starts again from the newest entry.
        terminal.type_text(UP);
        assert_eq!(terminal.line(), "cat ab");
    }

    /// One key, as a terminal sends it.
    fn key() -> impl Strategy<Value = Vec<u8>> {
        let named = prop::sample::select(vec![
            "\x7f",
            "\x08",
            "\x1b[D",
            "\x1b[C",
            "\x1b[A",
            "\x1b[B",
            "\x1b[H",
            "\x1b[F",
            "\x1bOH",
            "\x1bOF",
            "\x1b[1~",
            "\x1b[4~",
            "\x1b[3~",
            "\x01",
            "\x05",
            "\x15",
            "\x0b",
            "\x0c",
            "\x03",
            "\x04",
            "\r",
            "\n",
            "\r\n",
            "\x1b[15~",
            "\x1b[1;5D",
            "é",
            "€",
            "😀",
            " ",
        ])
        .prop_map(|key| key.as_bytes().to_vec());
        prop_oneof![
            3 => (0x20u8..0x7f).prop_map(|byte| vec![byte]),
            3 => named,
        ]
    }

    proptest! {
        #[test]
        fn the_screen_always_shows_prompt_line_and_cursor(
            keys in prop::collection::vec(key(), 0..80)
        ) {
            let mut terminal = Terminal::new();
            keys.iter().for_each(|key| terminal.type_bytes(key));
        }

        #[test]
        fn any_bytes_keep_the_screen_right(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let mut terminal = Terminal::new();
            terminal.type_bytes(&bytes);
            for event in &terminal.events {
                if let Event::Line(line) = event {
                    prop_assert!(line.len() <= MAX_LINE_BYTES);
                }
            }
        }
    }
}
