//! A line editor with history for a serial terminal that speaks VT100/xterm.
//!
//! The shell feeds it every byte read from the console and writes back the echo bytes it
//! produces; the editor never reads the screen, so everything it echoes moves the cursor relative
//! to where the editor left it. It knows the terminal's width ([`DEFAULT_WIDTH`] unless told
//! otherwise) and where the line wraps, so a line longer than a row is edited in place: the
//! cursor moves across rows, and an edit rewrites the line from the changed character and erases
//! what is below it. It assumes that every character takes one column, and that a terminal
//! writing into a row's last column waits for the next character before it wraps (VT100, xterm).
//!
//! Input bytes are decoded as UTF-8: a character's bytes are gathered before it is inserted, so
//! the line never holds half a character, and bytes that form no character become U+FFFD (as the
//! terminal would show them). Escape sequences are parsed to their end; the ones that are not
//! editing keys are swallowed whole.

use crate::completion::{self, Extension};
use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::mem;

/// Longest line the editor accepts, in bytes of UTF-8: input that would make it longer rings the
/// bell, and Enter then gives [`Event::LineTooLong`]. It is one less than the 2,048 bytes a
/// program's arguments may take, each word stored with a terminating NUL, so that the words of
/// any command on such a line fit.
pub const MAX_LINE_BYTES: usize = 2047;

/// The terminal width assumed until the shell tells another ([`LineEditor::set_width`]).
pub const DEFAULT_WIDTH: usize = 80;

const BELL: u8 = 0x07;
const ESCAPE: u8 = 0x1b;
/// Moves the cursor one column left without erasing.
const BACKSPACE: u8 = 0x08;
/// Erases from the cursor to the end of the screen.
const ERASE_BELOW: &[u8] = b"\x1b[J";
const TAB: u8 = 0x09;

/// What a byte fed to the editor meant to the shell, when it completed more than an edit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Enter: the edited line, without its line ending.
    Line(String),
    /// Ctrl-C: the line being edited was discarded.
    Interrupt,
    /// Ctrl-D on an empty line: the user has no more input.
    EndOfInput,
    /// Tab: the shell finds the candidates for the word before the cursor and hands them to
    /// [`LineEditor::complete`].
    Complete(completion::Request),
    /// Enter on a line that input was refused for, at [`MAX_LINE_BYTES`]: the line is
    /// discarded, not run shortened.
    LineTooLong,
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
    Complete,
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
    /// Columns the prompt takes on the terminal.
    prompt_columns: usize,
    /// Columns of the terminal.
    width: usize,
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
    /// Tab presses in a row, up to the last key.
    tabs_in_a_row: u32,
    /// Whether input was refused, because it would have made the line too long, since the line
    /// began or last got shorter.
    is_overflowed: bool,
}

impl LineEditor {
    /// An editor with an empty line, no prompt and room for `history_capacity` history entries
    /// (none when zero).
    pub fn new(history_capacity: usize) -> LineEditor {
        LineEditor {
            prompt: String::new(),
            prompt_columns: 0,
            width: DEFAULT_WIDTH,
            line: Vec::new(),
            line_bytes: 0,
            cursor: 0,
            input: InputState::Ground,
            after_carriage_return: false,
            history: VecDeque::new(),
            history_capacity,
            history_position: None,
            draft: Vec::new(),
            tabs_in_a_row: 0,
            is_overflowed: false,
        }
    }

    /// Sets the prompt the shell writes before each line, which a redraw rewrites. The editor
    /// never writes it otherwise, and the prompt may hold escape sequences (colours).
    pub fn set_prompt(&mut self, prompt: &str) {
        self.prompt.clear();
        self.prompt.push_str(prompt);
        self.prompt_columns = columns_of(prompt);
    }

    /// Sets the terminal's width in columns (at least 1), for lines that wrap.
    pub fn set_width(&mut self, columns: usize) {
        self.width = columns.max(1);
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
            TAB => Key::Complete,
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
        self.tabs_in_a_row = if key == Key::Complete {
            self.tabs_in_a_row.saturating_add(1)
        } else {
            0
        };
        match key {
            Key::Insert(character) => self.insert(&[character], echo),
            Key::Backspace => {
                if self.cursor > 0 {
                    self.move_cursor(self.cursor - 1, echo);
                    self.remove(self.cursor..self.cursor + 1);
                    self.redraw_from(self.cursor, false, echo);
                }
            }
            Key::Delete => {
                if self.cursor < self.line.len() {
                    self.remove(self.cursor..self.cursor + 1);
                    self.redraw_from(self.cursor, false, echo);
                }
            }
            Key::Left => self.move_cursor(self.cursor.saturating_sub(1), echo),
            Key::Right => self.move_cursor((self.cursor + 1).min(self.line.len()), echo),
            Key::Home => self.move_cursor(0, echo),
            Key::End => self.move_cursor(self.line.len(), echo),
            Key::Up => self.recall_older(echo),
            Key::Down => self.recall_newer(echo),
            Key::Enter => {
                self.leave_line(echo);
                let is_too_long = self.is_overflowed;
                let line: String = self.line.iter().collect();
                self.reset();
                if is_too_long {
                    return Some(Event::LineTooLong);
                }
                self.remember(&line);
                return Some(Event::Line(line));
            }
            Key::Interrupt => {
                self.move_cursor(self.line.len(), echo);
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
                    self.remove(self.cursor..self.line.len());
                    self.redraw_from(self.cursor, false, echo);
                }
            }
            Key::Redraw => self.redraw_all(echo),
            Key::Complete => {
                return Some(Event::Complete(completion::request(
                    &self.line,
                    self.cursor,
                )));
            }
        }
        None
    }

    /// Completes the word before the cursor with `candidates` (whole words that start with it),
    /// after [`Event::Complete`]: a unique candidate completes the word; several add their
    /// common start, and when there is none to add, a second Tab in a row lists them under the
    /// line; the bell rings when Tab can do nothing.
    pub fn complete(&mut self, candidates: &[String], echo: &mut Vec<u8>) {
        let request = completion::request(&self.line, self.cursor);
        match completion::extend(&request.word, candidates) {
            Extension::Unique(added) | Extension::Common(added) if !added.is_empty() => {
                let added: Vec<char> = added.chars().collect();
                self.insert(&added, echo);
            }
            Extension::Common(_) if self.tabs_in_a_row >= 2 => {
                let names = completion::listed_names(&request, candidates);
                let cursor = self.cursor;
                self.leave_line(echo);
                self.cursor = cursor;
                for (index, name) in names.iter().enumerate() {
                    if index > 0 {
                        echo.extend_from_slice(b"  ");
                    }
                    echo.extend_from_slice(name.as_bytes());
                }
                echo.extend_from_slice(b"\r\n");
                echo.extend_from_slice(self.prompt.as_bytes());
                self.redraw_from(0, true, echo);
            }
            _ => echo.push(BELL),
        }
    }

    /// Inserts `characters` at the cursor, as many as fit; the bell rings for the others.
    fn insert(&mut self, characters: &[char], echo: &mut Vec<u8>) {
        let start = self.cursor;
        for &character in characters {
            if self.line_bytes + character.len_utf8() > MAX_LINE_BYTES {
                echo.push(BELL);
                self.is_overflowed = true;
                break;
            }
            self.line.insert(self.cursor, character);
            self.line_bytes += character.len_utf8();
            self.cursor += 1;
        }
        if start < self.cursor {
            // The characters after the cursor shift right; nothing is left to erase.
            self.write_from(start, false, echo);
            self.move_cursor_from(self.line.len(), self.cursor, echo);
        }
    }

    fn remove(&mut self, range: core::ops::Range<usize>) {
        let removed_bytes: usize = self.line.drain(range).map(char::len_utf8).sum();
        self.line_bytes -= removed_bytes;
        self.is_overflowed = false;
    }

    /// Shows `line` in place of the edited line, with the cursor at its end.
    fn replace_line(&mut self, line: Vec<char>, echo: &mut Vec<u8>) {
        self.move_cursor(0, echo);
        self.line_bytes = line.iter().copied().map(char::len_utf8).sum();
        self.line = line;
        self.cursor = self.line.len();
        self.is_overflowed = false;
        self.redraw_from(0, false, echo);
    }

    /// Rewrites the prompt and the line from the prompt's first row (Ctrl-L), repairing rows
    /// that something else wrote over.
    fn redraw_all(&mut self, echo: &mut Vec<u8>) {
        let (row, _) = self.place(self.cursor);
        if row > 0 {
            push_cursor_move(echo, row, 'A');
        }
        echo.push(b'\r');
        echo.extend_from_slice(self.prompt.as_bytes());
        self.redraw_from(0, true, echo);
    }

    /// With the terminal's cursor at character `index` of the line (or, when `after_prompt`, just
    /// after a prompt written anew), rewrites the line from there, erases what is below its end
    /// and puts the cursor back where the editor's is.
    fn redraw_from(&self, index: usize, after_prompt: bool, echo: &mut Vec<u8>) {
        self.write_from(index, after_prompt, echo);
        echo.extend_from_slice(ERASE_BELOW);
        self.move_cursor_from(self.line.len(), self.cursor, echo);
    }

    /// Writes the line from character `index` to its end, where the terminal's cursor is then.
    /// A terminal that writes into its last column keeps the cursor there until the next
    /// character (xterm and VT100 do), so a line that ends on a row's last column is followed by
    /// a move to the start of the next row: the cursor is then always where [`Self::place`]
    /// says.
    fn write_from(&self, index: usize, after_prompt: bool, echo: &mut Vec<u8>) {
        push_chars(echo, &self.line[index..]);
        let (_, column) = self.place(self.line.len());
        let wrote_anything = after_prompt || index < self.line.len();
        if column == 0 && wrote_anything && self.prompt_columns + self.line.len() > 0 {
            echo.extend_from_slice(b"\r\n");
        }
    }

    /// Moves the cursor to character `index`.
    fn move_cursor(&mut self, index: usize, echo: &mut Vec<u8>) {
        self.move_cursor_from(self.cursor, index, echo);
        self.cursor = index;
    }

    /// Moves the terminal's cursor from character `from` to character `to` of the line.
    fn move_cursor_from(&self, from: usize, to: usize, echo: &mut Vec<u8>) {
        let (from_row, from_column) = self.place(from);
        let (to_row, to_column) = self.place(to);
        if to_row < from_row {
            push_cursor_move(echo, from_row - to_row, 'A');
        } else if to_row > from_row {
            push_cursor_move(echo, to_row - from_row, 'B');
        }
        if to_column == 0 && to_row != from_row {
            echo.push(b'\r');
        } else if to_column < from_column {
            move_left(echo, from_column - to_column);
        } else if to_column > from_column {
            push_cursor_move(echo, to_column - from_column, 'C');
        }
    }

    /// Moves the cursor past the end of the line, to the start of the row after it.
    fn leave_line(&mut self, echo: &mut Vec<u8>) {
        self.move_cursor(self.line.len(), echo);
        let (row, column) = self.place(self.line.len());
        if column != 0 || row == 0 {
            echo.extend_from_slice(b"\r\n");
        }
    }

    /// The row (counted from the prompt's) and column on the terminal of character `index` of the
    /// line; the row after a full one, at column 0, for an index just past a row's last column.
    fn place(&self, index: usize) -> (usize, usize) {
        let offset = self.prompt_columns + index;
        (offset / self.width, offset % self.width)
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
        self.is_overflowed = false;
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

/// How many columns `prompt` takes: its characters outside escape sequences (ESC `[` ... and a
/// final byte).
fn columns_of(prompt: &str) -> usize {
    let mut columns = 0;
    let mut characters = prompt.chars();
    while let Some(character) = characters.next() {
        if character == '\x1b' {
            if characters.next() == Some('[') {
                for inside in characters.by_ref() {
                    if ('\x40'..='\x7e').contains(&inside) {
                        break;
                    }
                }
            }
        } else if !character.is_control() {
            columns += 1;
        }
    }
    columns
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

/// Writes ESC `[` count `direction`: a move of the cursor by `count` rows or columns.
fn push_cursor_move(echo: &mut Vec<u8>, count: usize, direction: char) {
    echo.extend_from_slice(format!("\x1b[{count}{direction}").as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use proptest::prelude::*;

    const PROMPT: &str = "$ ";

    /// The part of a VT100 that the editor's echo drives: rows of characters `width` wide and a
    /// cursor that, after a write into a row's last column, waits there (at `column == width`)
    /// for the next character to wrap. It refuses (panics on) any byte the editor has no
    /// business sending.
    struct Screen {
        rows: Vec<Vec<char>>,
        row: usize,
        column: usize,
        width: usize,
        /// Bytes of an escape sequence or UTF-8 character not yet complete.
        pending: Vec<u8>,
    }

    impl Screen {
        fn new(width: usize) -> Screen {
            Screen {
                rows: vec![Vec::new()],
                row: 0,
                column: 0,
                width,
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
                b'\n' => self.go_to_row(self.row + 1),
                BACKSPACE => self.column = self.settled_column().saturating_sub(1),
                BELL => {}
                0x20..=0x7e => self.put(char::from(byte)),
                _ => panic!("the editor wrote control byte {byte:#04x}"),
            }
        }

        /// The column, with a wrap that waits given up (as any cursor move does).
        fn settled_column(&self) -> usize {
            self.column.min(self.width - 1)
        }

        fn go_to_row(&mut self, row: usize) {
            self.row = row;
            if self.rows.len() <= row {
                self.rows.resize(row + 1, Vec::new());
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
                    b'J' => {
                        assert_eq!(sequence, "\x1b[J");
                        assert!(self.column < self.width, "erasing from a waiting wrap");
                        self.rows[self.row].truncate(self.column);
                        self.rows.truncate(self.row + 1);
                    }
                    b'A' => {
                        assert!(count() <= self.row, "moved above the screen");
                        self.column = self.settled_column();
                        self.row -= count();
                    }
                    b'B' => {
                        self.column = self.settled_column();
                        self.go_to_row(self.row + count());
                    }
                    b'D' => self.column = self.settled_column().saturating_sub(count()),
                    b'C' => self.column = (self.settled_column() + count()).min(self.width - 1),
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
            if self.column == self.width {
                self.go_to_row(self.row + 1);
                self.column = 0;
            }
            let row = &mut self.rows[self.row];
            if self.column < row.len() {
                row[self.column] = character;
            } else {
                row.resize(self.column, ' ');
                row.push(character);
            }
            self.column += 1;
        }

        /// Row `row` without the blanks that end it.
        fn row_text(&self, row: usize) -> String {
            let text: String = self.rows.get(row).into_iter().flatten().collect();
            String::from(text.trim_end_matches(' '))
        }
    }

    /// An editor on a screen, as the shell runs it: the shell writes the prompt before each line.
    struct Terminal {
        editor: LineEditor,
        screen: Screen,
        /// The row the prompt of the line being edited starts on.
        prompt_row: usize,
        events: Vec<Event>,
        /// What Tab completes from.
        names: Vec<String>,
    }

    impl Terminal {
        fn new() -> Terminal {
            Terminal::with_width(DEFAULT_WIDTH)
        }

        fn with_width(width: usize) -> Terminal {
            let mut editor = LineEditor::new(4);
            editor.set_prompt(PROMPT);
            editor.set_width(width);
            let mut screen = Screen::new(width);
            screen.write(PROMPT.as_bytes());
            Terminal {
                editor,
                screen,
                prompt_row: 0,
                events: Vec::new(),
                names: Vec::new(),
            }
        }

        /// Feeds `bytes` one at a time, checking the screen after each.
        fn type_bytes(&mut self, bytes: &[u8]) {
            for &byte in bytes {
                let mut echo = Vec::new();
                let event = self.editor.feed(byte, &mut echo);
                self.screen.write(&echo);
                match event {
                    Some(Event::Complete(request)) => {
                        let candidates: Vec<String> = self
                            .names
                            .iter()
                            .filter(|name| name.starts_with(&request.word))
                            .cloned()
                            .collect();
                        let mut echo = Vec::new();
                        self.editor.complete(&candidates, &mut echo);
                        let rows_before = self.screen.rows.len();
                        self.screen.write(&echo);
                        // A listing puts the prompt on a new row.
                        if self.screen.rows.len() > rows_before {
                            let (row, _) = self.editor.place(self.editor.cursor);
                            self.prompt_row = self.screen.row - row;
                        }
                        self.events.push(Event::Complete(request));
                    }
                    Some(event) => {
                        if event != Event::EndOfInput {
                            assert_eq!(
                                self.screen.column, 0,
                                "a finished line leaves the cursor at the start of a row"
                            );
                            assert_eq!(self.screen.row_text(self.screen.row), "");
                            self.screen.write(PROMPT.as_bytes());
                            self.prompt_row = self.screen.row;
                        }
                        self.events.push(event);
                    }
                    None => {}
                }
                self.check_screen();
            }
        }

        fn type_text(&mut self, text: &str) {
            self.type_bytes(text.as_bytes());
        }

        /// The rows from the prompt's show the prompt and the line, wrapped at the width, and
        /// nothing after them; the cursor is on the editor's character.
        fn check_screen(&self) {
            let width = self.screen.width;
            let mut expected: Vec<char> = PROMPT.chars().collect();
            expected.extend(self.editor.line.iter());
            let rows = expected.len().div_ceil(width).max(1);
            for row in 0..rows {
                let end = ((row + 1) * width).min(expected.len());
                let text: String = expected[row * width..end].iter().collect();
                assert_eq!(
                    self.screen.row_text(self.prompt_row + row),
                    text.trim_end_matches(' '),
                    "row {row} of the line"
                );
            }
            for row in self.prompt_row + rows..self.screen.rows.len() {
                assert_eq!(self.screen.row_text(row), "", "row {row}, below the line");
            }
            let offset = PROMPT.len() + self.editor.cursor;
            assert_eq!(
                (self.screen.row, self.screen.column),
                (self.prompt_row + offset / width, offset % width),
                "the cursor"
            );
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
        assert_eq!(echo_of(&mut editor, b"\x7f").0, b"\x08\x1b[J");
        assert_eq!(echo_of(&mut editor, b"\x08").0, b"\x08\x1b[J");
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
        assert_eq!(echo_of(&mut editor, b"\x0c").0, b"\r> abc\x1b[J\x1b[2D");
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
        assert_eq!(echo_of(&mut editor, b"\x00\x1f\x07"), (Vec::new(), None));
    }

    #[test]
    fn overlong_lines_ring_the_bell_and_are_not_run() {
        let mut terminal = Terminal::new();
        terminal.type_bytes(&[b'x'; MAX_LINE_BYTES]);
        let mut echo = Vec::new();
        assert_eq!(terminal.editor.feed(b'y', &mut echo), None);
        assert_eq!(echo, [BELL]);
        terminal.type_text("y\r");
        assert_eq!(
            terminal.events,
            [Event::LineTooLong],
            "a line cut short is not run"
        );
        assert_eq!(terminal.editor.history().count(), 0);
        // A line that fits after the bell rang is run.
        terminal.type_bytes(&[b'x'; MAX_LINE_BYTES]);
        terminal.type_text("é\x7f\r");
        let Some(Event::Line(line)) = terminal.events.last() else {
            panic!("Enter gives the line");
        };
        assert_eq!(line.len(), MAX_LINE_BYTES - 1);
        let mut editor = LineEditor::new(0);
        echo_of(&mut editor, &[b'x'; MAX_LINE_BYTES - 1]);
        assert_eq!(
            echo_of(&mut editor, "é".as_bytes()).0,
            [BELL],
            "two bytes do not fit in one"
        );
    }

    #[test]
    fn the_line_limit_leaves_room_for_the_argument_terminators() {
        // The 2,048 bytes a program's arguments may take hold every word and its NUL.
        assert_eq!(MAX_LINE_BYTES + 1, 2048);
    }

    #[test]
    fn typing_past_the_last_column_continues_on_the_next_row() {
        let mut editor = LineEditor::new(0);
        editor.set_prompt("$ ");
        editor.set_width(10);
        assert_eq!(echo_of(&mut editor, b"1234567").0, b"1234567");
        assert_eq!(
            echo_of(&mut editor, b"8").0,
            b"8\r\n",
            "the cursor leaves the full row at once"
        );
        assert_eq!(echo_of(&mut editor, b"9").0, b"9");
        // Left from the start of a row goes to the end of the row above.
        assert_eq!(echo_of(&mut editor, LEFT.as_bytes()).0, b"\x08");
        assert_eq!(echo_of(&mut editor, LEFT.as_bytes()).0, b"\x1b[1A\x1b[9C");
        assert_eq!(echo_of(&mut editor, b"\x01").0, b"\x1b[7D");
        assert_eq!(echo_of(&mut editor, b"\x05").0, b"\x1b[1B\x08");
    }

    #[test]
    fn an_edit_in_a_wrapped_line_rewrites_the_rows_after_it() {
        let mut editor = LineEditor::new(0);
        editor.set_prompt("$ ");
        editor.set_width(10);
        echo_of(&mut editor, b"abcdefghijk\x01");
        // Inserting at the start rewrites the whole line, then comes back.
        assert_eq!(echo_of(&mut editor, b"X").0, b"Xabcdefghijk\x1b[1A\x08");
        // Deleting it rewrites the line one column left and erases what is left below.
        assert_eq!(
            echo_of(&mut editor, b"\x7f").0,
            b"\x08abcdefghijk\x1b[J\x1b[1A\x08"
        );
    }

    #[test]
    fn editing_lines_of_many_rows_keeps_the_screen_right() {
        let mut terminal = Terminal::with_width(10);
        terminal.type_text("0123456789abcdefghijklmnopqrstu");
        for keys in [
            "\x01",
            "X",
            RIGHT,
            "\x7f",
            "\x1b[3~",
            "\x05",
            "\x7f\x7f\x7f",
            "\x01",
            "\x0b",
            "abc",
            "\x0c",
        ] {
            terminal.type_text(keys);
        }
        terminal.type_text("12345678\r");
        assert_eq!(terminal.events, [Event::Line(String::from("abc12345678"))]);
        // A line that ends on a row's last column, recalled and entered.
        terminal.type_text("12345678");
        terminal.type_text(UP);
        terminal.type_text(DOWN);
        terminal.type_text("\r");
        assert_eq!(terminal.events[1], Event::Line(String::from("12345678")));
    }

    #[test]
    fn a_prompt_takes_the_columns_of_its_characters_outside_escape_sequences() {
        assert_eq!(columns_of("$ "), 2);
        assert_eq!(columns_of("\x1b[1;32mexo\x1b[0m:/data$ "), 11);
        let mut editor = LineEditor::new(0);
        editor.set_prompt("\x1b[32m$\x1b[0m ");
        editor.set_width(4);
        assert_eq!(
            echo_of(&mut editor, b"ab").0,
            b"ab\r\n",
            "2 + 2 columns fill the row"
        );
    }

    #[test]
    fn tab_asks_for_the_word_before_the_cursor() {
        let mut editor = LineEditor::new(0);
        let (_, event) = echo_of(&mut editor, b"cat /da\t");
        assert_eq!(
            event,
            Some(Event::Complete(completion::Request {
                word: String::from("/da"),
                kind: completion::WordKind::Path,
            }))
        );
    }

    #[test]
    fn tab_completes_a_unique_name_and_lists_several_at_the_second_press() {
        let mut terminal = Terminal::with_width(20);
        terminal.names = [
            "echo",
            "cat",
            "cd",
            "cp",
            "capabilities",
            "/data/",
            "/data/notes",
        ]
        .map(String::from)
        .to_vec();
        terminal.type_text("ec\t");
        assert_eq!(terminal.line(), "echo ");
        terminal.type_text("/d\t");
        assert_eq!(terminal.line(), "echo /data/");
        terminal.type_text("\x15c\t");
        assert_eq!(terminal.line(), "c", "no common start: the bell only");
        let screen_rows = terminal.screen.rows.len();
        terminal.type_text("\t");
        assert_eq!(terminal.line(), "c");
        assert_eq!(
            terminal.screen.row_text(screen_rows),
            "capabilities  cat  c",
            "the second Tab lists the names under the line"
        );
        assert_eq!(terminal.screen.row_text(screen_rows + 1), "d  cp");
        // Listing from the middle of a line leaves the cursor where it was.
        terminal.type_text("\x15c \x02\t\t");
        assert_eq!((terminal.line().as_str(), terminal.cursor()), ("c ", 1));
        terminal.type_text("\x05\x7f");
        terminal.type_text("a\t");
        assert_eq!(terminal.line(), "ca");
        terminal.type_text("p\t\r");
        assert_eq!(
            terminal.events.last(),
            Some(&Event::Line(String::from("capabilities ")))
        );
        let mut editor = LineEditor::new(0);
        echo_of(&mut editor, b"zz\t");
        let mut echo = Vec::new();
        editor.complete(&[], &mut echo);
        assert_eq!(echo, [BELL], "nothing to complete rings the bell");
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
            "\t",
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
            keys in prop::collection::vec(key(), 0..80),
            width in 3usize..12,
        ) {
            let mut terminal = Terminal::with_width(width);
            terminal.names = ["a", "ab", "abc/", "b é", "😀x"].map(String::from).to_vec();
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
