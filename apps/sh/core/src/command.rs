//! Parsing of a command line into a pipeline of commands with their redirections.
//!
//! The syntax is a small part of the POSIX shell's:
//!
//! - words are separated by spaces and tabs;
//! - single quotes keep everything up to the next single quote literally;
//! - double quotes do too, except that `\"`, `\\` and `\$` stand for `"`, `\` and `$`, and `$?`
//!   is expanded;
//! - outside quotes, a backslash takes the next character literally;
//! - `#` at the start of a word begins a comment that runs to the end of the line;
//! - `|` joins commands into a pipeline, a final `&` runs it in the background, and `< file`,
//!   `> file` and `>> file` redirect a command's standard input and output. These operators end
//!   a word, so `echo hi>out` and `a|b` need no spaces;
//! - `$?` outside single quotes (and not escaped) stands for the status of the last command.
//!
//! Nothing else is expanded: there are no other variables, no globs and no `~`.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// A parsed command line: a pipeline, possibly run in the background.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandLine {
    /// The commands of the pipeline, each one's standard output feeding the next one's standard
    /// input. Empty for a line of only blanks and comments.
    pub commands: Vec<Command>,
    /// Whether the line ended with `&`: the shell does not wait for the pipeline.
    pub background: bool,
}

impl CommandLine {
    /// Whether the line held no command (only blanks or a comment).
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }
}

/// One command of a pipeline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Command {
    /// The first word: the program to run.
    pub program: String,
    /// The words after the program.
    pub arguments: Vec<String>,
    /// The file to read standard input from (`< file`).
    pub stdin: Option<String>,
    /// Where to write standard output (`> file` or `>> file`).
    pub stdout: Option<Output>,
}

/// A file that receives a command's standard output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// The file's path, as written.
    pub path: String,
    /// Whether to append to the file (`>>`) rather than truncate it (`>`).
    pub append: bool,
}

/// Why a command line could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// A quoted word has no closing quote; the quote character is given.
    UnterminatedQuote(char),
    /// The line ends with a backslash, which has no character to escape.
    TrailingBackslash,
    /// A redirection operator (given) is not followed by a file name.
    MissingFileName(&'static str),
    /// A `|` or `&` has no command before it, or a `|` none after it.
    EmptyCommand,
    /// A command holds redirections but no program.
    RedirectionWithoutProgram,
    /// A `&` is followed by more of the line.
    MisplacedBackground,
    /// A command other than the first of a pipeline redirects its input, which the previous
    /// command's output already is.
    InputRedirectionNotFirst,
    /// A command other than the last of a pipeline redirects its output, which the next
    /// command's input already is.
    OutputRedirectionNotLast,
}

impl fmt::Display for ParseError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::UnterminatedQuote(quote) => {
                write!(formatter, "unterminated quote: missing the closing {quote}")
            }
            ParseError::TrailingBackslash => {
                formatter.write_str("the line ends with a backslash that escapes nothing")
            }
            ParseError::MissingFileName(operator) => {
                write!(formatter, "missing a file name after {operator}")
            }
            ParseError::EmptyCommand => formatter
                .write_str("missing command: | needs a command on each side, & one before it"),
            ParseError::RedirectionWithoutProgram => {
                formatter.write_str("a redirection without a command to run")
            }
            ParseError::MisplacedBackground => {
                formatter.write_str("& may only end the command line")
            }
            ParseError::InputRedirectionNotFirst => formatter
                .write_str("only the first command of a pipeline may redirect its input with <"),
            ParseError::OutputRedirectionNotLast => formatter.write_str(
                "only the last command of a pipeline may redirect its output with > or >>",
            ),
        }
    }
}

impl core::error::Error for ParseError {}

/// A word or an operator of the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Pipe,
    Background,
    Input,
    Output,
    Append,
}

/// Parses `line` (without its line ending), with `last_status` for `$?`.
pub fn parse(line: &str, last_status: u32) -> Result<CommandLine, ParseError> {
    let mut tokens = tokenize(line, last_status)?.into_iter().peekable();
    let mut command_line = CommandLine::default();
    if tokens.peek().is_none() {
        return Ok(command_line);
    }
    loop {
        let (command, separator) = parse_command(&mut tokens)?;
        if command.stdin.is_some() && !command_line.commands.is_empty() {
            return Err(ParseError::InputRedirectionNotFirst);
        }
        let piped_on = separator == Some(Token::Pipe);
        if command.stdout.is_some() && piped_on {
            return Err(ParseError::OutputRedirectionNotLast);
        }
        command_line.commands.push(command);
        if piped_on {
            continue;
        }
        if separator == Some(Token::Background) {
            if tokens.next().is_some() {
                return Err(ParseError::MisplacedBackground);
            }
            command_line.background = true;
        }
        return Ok(command_line);
    }
}

/// Parses one command up to the end of the line or the next `|` or `&`, and returns that
/// separator with it.
fn parse_command(
    tokens: &mut impl Iterator<Item = Token>,
) -> Result<(Command, Option<Token>), ParseError> {
    let mut program = None;
    let mut command = Command::default();
    // A later redirection of the same stream replaces an earlier one.
    let separator = loop {
        match tokens.next() {
            None => break None,
            Some(separator @ (Token::Pipe | Token::Background)) => break Some(separator),
            Some(Token::Word(word)) if program.is_none() => program = Some(word),
            Some(Token::Word(word)) => command.arguments.push(word),
            Some(Token::Input) => command.stdin = Some(file_name(tokens, "<")?),
            Some(Token::Output) => {
                let path = file_name(tokens, ">")?;
                command.stdout = Some(Output {
                    path,
                    append: false,
                });
            }
            Some(Token::Append) => {
                let path = file_name(tokens, ">>")?;
                command.stdout = Some(Output { path, append: true });
            }
        }
    };
    match program {
        Some(program) => {
            command.program = program;
            Ok((command, separator))
        }
        None if command.stdin.is_some() || command.stdout.is_some() => {
            Err(ParseError::RedirectionWithoutProgram)
        }
        None => Err(ParseError::EmptyCommand),
    }
}

/// The file name that must follow the redirection `operator`.
fn file_name(
    tokens: &mut impl Iterator<Item = Token>,
    operator: &'static str,
) -> Result<String, ParseError> {
    match tokens.next() {
        Some(Token::Word(path)) => Ok(path),
        _ => Err(ParseError::MissingFileName(operator)),
    }
}

/// Splits `line` into words, with their quotes and escapes resolved and `$?` expanded, and
/// operators.
fn tokenize(line: &str, last_status: u32) -> Result<Vec<Token>, ParseError> {
    let mut tokens = Vec::new();
    // `None` between words; a quoted empty word is `Some("")`.
    let mut word: Option<String> = None;
    let mut characters = line.chars().peekable();
    while let Some(character) = characters.next() {
        let operator = match character {
            ' ' | '\t' => None,
            '#' if word.is_none() => break,
            '|' => Some(Token::Pipe),
            '&' => Some(Token::Background),
            '<' => Some(Token::Input),
            '>' if characters.next_if_eq(&'>').is_some() => Some(Token::Append),
            '>' => Some(Token::Output),
            '$' if characters.next_if_eq(&'?').is_some() => {
                push_status(word.get_or_insert_default(), last_status);
                continue;
            }
            '\'' => {
                let text = word.get_or_insert_default();
                loop {
                    match characters.next() {
                        Some('\'') => break,
                        Some(quoted) => text.push(quoted),
                        None => return Err(ParseError::UnterminatedQuote('\'')),
                    }
                }
                continue;
            }
            '"' => {
                let text = word.get_or_insert_default();
                loop {
                    match characters.next() {
                        Some('"') => break,
                        Some('\\') => {
                            let escaped = characters
                                .next_if(|&next| next == '"' || next == '\\' || next == '$');
                            text.push(escaped.unwrap_or('\\'));
                        }
                        Some('$') if characters.next_if_eq(&'?').is_some() => {
                            push_status(text, last_status);
                        }
                        Some(quoted) => text.push(quoted),
                        None => return Err(ParseError::UnterminatedQuote('"')),
                    }
                }
                continue;
            }
            '\\' => {
                let escaped = characters.next().ok_or(ParseError::TrailingBackslash)?;
                word.get_or_insert_default().push(escaped);
                continue;
            }
            plain => {
                word.get_or_insert_default().push(plain);
                continue;
            }
        };
        // A blank or an operator ends the word being read.
        tokens.extend(word.take().map(Token::Word));
        tokens.extend(operator);
    }
    tokens.extend(word.map(Token::Word));
    Ok(tokens)
}

fn push_status(text: &mut String, status: u32) {
    use core::fmt::Write;
    let _ = write!(text, "{status}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec;
    use proptest::prelude::*;

    /// Parses with a last status of 0.
    fn parse(line: &str) -> Result<CommandLine, ParseError> {
        super::parse(line, 0)
    }

    fn words(line: &str) -> Vec<String> {
        let parsed = parse(line).unwrap();
        assert_eq!(parsed.commands.len(), 1, "{line:?}");
        let command = &parsed.commands[0];
        let mut words = vec![command.program.clone()];
        words.extend(command.arguments.iter().cloned());
        words
    }

    fn command(words: &[&str]) -> Command {
        Command {
            program: words[0].to_string(),
            arguments: words[1..].iter().map(|word| word.to_string()).collect(),
            ..Command::default()
        }
    }

    fn output(path: &str, append: bool) -> Option<Output> {
        Some(Output {
            path: path.to_string(),
            append,
        })
    }

    #[test]
    fn blanks_separate_words() {
        assert_eq!(words("  ls   -l\tfoo  "), ["ls", "-l", "foo"]);
        assert_eq!(words("ünïcödé wörd"), ["ünïcödé", "wörd"]);
    }

    #[test]
    fn single_quotes_keep_everything_literally() {
        assert_eq!(
            words(r#"echo 'a  b' 'it''s' 'a\"b|&<>#'"#),
            ["echo", "a  b", "its", r#"a\"b|&<>#"#]
        );
    }

    #[test]
    fn double_quotes_resolve_only_quote_and_backslash_escapes() {
        assert_eq!(
            words(r#"echo "a \"b\" \\ \n $x 'c' # |""#),
            ["echo", r#"a "b" \ \n $x 'c' # |"#]
        );
    }

    #[test]
    fn a_backslash_outside_quotes_takes_the_next_character_literally() {
        assert_eq!(
            words(r"echo a\|b \# \> \\ a\ b \'"),
            ["echo", "a|b", "#", ">", "\\", "a b", "'"]
        );
    }

    #[test]
    fn dollar_question_mark_is_the_last_status_outside_single_quotes() {
        let words = |line| {
            let parsed = super::parse(line, 127).unwrap();
            parsed.commands[0].arguments.clone()
        };
        assert_eq!(
            words(r#"echo $? x$?y "[$?]" '$?' \$? "\$?" $ $x ?"#),
            ["127", "x127y", "[127]", "$?", "$?", "$?", "$", "$x", "?"]
        );
        assert_eq!(
            super::parse("exit $?", u32::MAX).unwrap().commands[0].arguments,
            ["4294967295"]
        );
        assert_eq!(
            super::parse("cat < $?.txt", 3).unwrap().commands[0]
                .stdin
                .as_deref(),
            Some("3.txt")
        );
    }

    #[test]
    fn adjacent_quoted_parts_form_one_word() {
        assert_eq!(words(r#"a'b'"c"\ d"#), ["abc d"]);
    }

    #[test]
    fn empty_quotes_make_empty_words() {
        assert_eq!(words(r#"echo '' """#), ["echo", "", ""]);
    }

    #[test]
    fn a_hash_starts_a_comment_only_at_the_start_of_a_word() {
        assert_eq!(
            words("echo a#b # a comment | with > operators '"),
            ["echo", "a#b"]
        );
        assert_eq!(words("echo '#'#"), ["echo", "##"]);
        assert_eq!(parse("a|#b"), Err(ParseError::EmptyCommand));
    }

    #[test]
    fn lines_without_a_command_are_empty() {
        for line in ["", "   \t ", "# just a comment", "  # indented comment"] {
            let parsed = parse(line).unwrap();
            assert!(parsed.is_empty(), "{line:?}");
            assert!(!parsed.background);
        }
        assert!(
            !parse("''").unwrap().is_empty(),
            "a quoted empty word is a command"
        );
    }

    #[test]
    fn pipes_join_commands() {
        let parsed = parse("cat f | grep -v x|wc -l").unwrap();
        assert_eq!(
            parsed,
            CommandLine {
                commands: vec![
                    command(&["cat", "f"]),
                    command(&["grep", "-v", "x"]),
                    command(&["wc", "-l"])
                ],
                background: false,
            }
        );
    }

    #[test]
    fn a_final_ampersand_runs_the_line_in_the_background() {
        assert!(parse("sleep 10 &").unwrap().background);
        let parsed = parse("a|b& # comment").unwrap();
        assert_eq!(parsed.commands, [command(&["a"]), command(&["b"])]);
        assert!(parsed.background);
    }

    #[test]
    fn redirections_set_standard_input_and_output() {
        let parsed = parse("cat < in > out").unwrap();
        assert_eq!(
            parsed.commands,
            [Command {
                stdin: Some("in".to_string()),
                stdout: output("out", false),
                ..command(&["cat"])
            }]
        );
        assert_eq!(
            parse("log >> 'my file'").unwrap().commands[0].stdout,
            output("my file", true)
        );
    }

    #[test]
    fn operators_need_no_blanks_around_them() {
        let parsed = parse("echo hi>out").unwrap();
        assert_eq!(
            parsed.commands,
            [Command {
                stdout: output("out", false),
                ..command(&["echo", "hi"])
            }]
        );
        let parsed = parse("cat<in|sort>>sorted&").unwrap();
        assert_eq!(
            parsed.commands,
            [
                Command {
                    stdin: Some("in".to_string()),
                    ..command(&["cat"])
                },
                Command {
                    stdout: output("sorted", true),
                    ..command(&["sort"])
                },
            ]
        );
        assert!(parsed.background);
    }

    #[test]
    fn redirections_may_come_before_the_program() {
        let parsed = parse("> out < in echo hi").unwrap();
        assert_eq!(
            parsed.commands,
            [Command {
                stdin: Some("in".to_string()),
                stdout: output("out", false),
                ..command(&["echo", "hi"])
            }]
        );
    }

    #[test]
    fn a_later_redirection_replaces_an_earlier_one() {
        let parsed = parse("cmd > a < b >> c < d").unwrap();
        assert_eq!(parsed.commands[0].stdin.as_deref(), Some("d"));
        assert_eq!(parsed.commands[0].stdout, output("c", true));
        assert_eq!(
            parse("cmd >> a > b").unwrap().commands[0].stdout,
            output("b", false)
        );
    }

    #[test]
    fn unterminated_quotes_are_errors() {
        assert_eq!(parse("echo 'abc"), Err(ParseError::UnterminatedQuote('\'')));
        assert_eq!(
            parse(r#"echo "abc\""#),
            Err(ParseError::UnterminatedQuote('"'))
        );
        assert_eq!(
            parse(r#"echo "abc\"#),
            Err(ParseError::UnterminatedQuote('"'))
        );
    }

    #[test]
    fn a_trailing_backslash_is_an_error() {
        assert_eq!(parse(r"echo a\"), Err(ParseError::TrailingBackslash));
    }

    #[test]
    fn a_redirection_needs_a_file_name() {
        assert_eq!(parse("cat <"), Err(ParseError::MissingFileName("<")));
        assert_eq!(parse("cat > | wc"), Err(ParseError::MissingFileName(">")));
        assert_eq!(parse("cat >> &"), Err(ParseError::MissingFileName(">>")));
        assert_eq!(parse("cat < > out"), Err(ParseError::MissingFileName("<")));
    }

    #[test]
    fn every_command_of_a_pipeline_needs_a_program() {
        for line in [
            "| a", "a |", "a ||", "a | | b", "a || b", "&", "a | &", "  |",
        ] {
            assert_eq!(parse(line), Err(ParseError::EmptyCommand), "{line:?}");
        }
        assert_eq!(parse("> out"), Err(ParseError::RedirectionWithoutProgram));
        assert_eq!(
            parse("a | < in"),
            Err(ParseError::RedirectionWithoutProgram)
        );
    }

    #[test]
    fn an_ampersand_must_end_the_line() {
        for line in ["a & b", "a && b", "a & | b", "a &&"] {
            assert_eq!(
                parse(line),
                Err(ParseError::MisplacedBackground),
                "{line:?}"
            );
        }
    }

    #[test]
    fn only_the_ends_of_a_pipeline_redirect() {
        assert_eq!(
            parse("a | b < in"),
            Err(ParseError::InputRedirectionNotFirst)
        );
        assert_eq!(
            parse("a > out | b"),
            Err(ParseError::OutputRedirectionNotLast)
        );
        assert_eq!(
            parse("a | b >> out | c"),
            Err(ParseError::OutputRedirectionNotLast)
        );
        assert!(parse("a < in | b | c > out &").is_ok());
    }

    #[test]
    fn errors_read_clearly() {
        assert_eq!(
            ParseError::UnterminatedQuote('"').to_string(),
            "unterminated quote: missing the closing \""
        );
        assert_eq!(
            ParseError::MissingFileName(">>").to_string(),
            "missing a file name after >>"
        );
        assert_eq!(
            ParseError::InputRedirectionNotFirst.to_string(),
            "only the first command of a pipeline may redirect its input with <"
        );
    }

    /// How the round trip spells a word.
    #[derive(Clone, Copy, Debug)]
    enum Quoting {
        /// Bare when nothing in the word needs quoting, otherwise in single quotes.
        Plain,
        Single,
        Double,
        Backslash,
    }

    fn quote(word: &str, quoting: Quoting) -> String {
        let safe = !word.is_empty()
            && word.chars().all(|character| {
                character.is_ascii_alphanumeric() || "-_./=:,+@%".contains(character)
            });
        match quoting {
            Quoting::Plain if safe => word.to_string(),
            Quoting::Plain | Quoting::Single => format!("'{}'", word.replace('\'', r"'\''")),
            Quoting::Double => format!("\"{}\"", word.replace('\\', r"\\").replace('"', "\\\"")),
            Quoting::Backslash if word.is_empty() => "''".to_string(),
            Quoting::Backslash => word
                .chars()
                .flat_map(|character| ['\\', character])
                .collect(),
        }
    }

    /// One command and where its redirections go among its words.
    #[derive(Clone, Debug)]
    struct PlacedCommand {
        command: Command,
        stdin_place: usize,
        stdout_place: usize,
    }

    fn word() -> impl Strategy<Value = String> {
        "[a-z0-9 \t'\"\\\\|&<>#.é-]{0,6}"
    }

    fn placed_command() -> impl Strategy<Value = PlacedCommand> {
        (
            word(),
            prop::collection::vec(word(), 0..4),
            prop::option::of(word()),
            prop::option::of((word(), any::<bool>())),
            any::<usize>(),
            any::<usize>(),
        )
            .prop_map(
                |(program, arguments, stdin, stdout, stdin_place, stdout_place)| PlacedCommand {
                    command: Command {
                        program,
                        arguments,
                        stdin,
                        stdout: stdout.map(|(path, append)| Output { path, append }),
                    },
                    stdin_place,
                    stdout_place,
                },
            )
    }

    /// A command line that parses, as commands and the choice of a trailing `&`.
    fn pipeline() -> impl Strategy<Value = (Vec<PlacedCommand>, bool)> {
        (prop::collection::vec(placed_command(), 1..4), any::<bool>()).prop_map(
            |(mut commands, background)| {
                let last = commands.len() - 1;
                for (index, placed) in commands.iter_mut().enumerate() {
                    if index > 0 {
                        placed.command.stdin = None;
                    }
                    if index < last {
                        placed.command.stdout = None;
                    }
                }
                (commands, background)
            },
        )
    }

    enum Piece {
        Word(String),
        Operator(&'static str),
    }

    /// Spells a command line, taking quotings and blanks in turn from the lists given.
    fn spell(
        commands: &[PlacedCommand],
        background: bool,
        comment: bool,
        quotings: &[Quoting],
        blanks: &[usize],
    ) -> String {
        let mut quotings = quotings.iter().cycle();
        let mut quote_next = |word: &str| Piece::Word(quote(word, *quotings.next().unwrap()));
        let mut pieces = Vec::new();
        for (index, placed) in commands.iter().enumerate() {
            if index > 0 {
                pieces.push(Piece::Operator("|"));
            }
            let command = &placed.command;
            let mut units: Vec<Vec<Piece>> = core::iter::once(&command.program)
                .chain(&command.arguments)
                .map(|word| vec![quote_next(word)])
                .collect();
            if let Some(path) = &command.stdin {
                let place = placed.stdin_place % (units.len() + 1);
                units.insert(place, vec![Piece::Operator("<"), quote_next(path)]);
            }
            if let Some(output) = &command.stdout {
                let operator = if output.append { ">>" } else { ">" };
                let place = placed.stdout_place % (units.len() + 1);
                units.insert(
                    place,
                    vec![Piece::Operator(operator), quote_next(&output.path)],
                );
            }
            pieces.extend(units.into_iter().flatten());
        }
        if background {
            pieces.push(Piece::Operator("&"));
        }
        let mut blanks = blanks.iter().cycle();
        let mut line = String::new();
        let mut after_word = false;
        for piece in &pieces {
            let blank = *blanks.next().unwrap();
            match piece {
                Piece::Word(word) => {
                    // Two words need a blank between them; elsewhere a blank is optional.
                    line.push_str(if after_word {
                        [" ", "\t", " \t "][blank % 3]
                    } else {
                        ["", " ", "\t"][blank % 3]
                    });
                    line.push_str(word);
                }
                Piece::Operator(operator) => {
                    line.push_str(["", " ", "\t"][blank % 3]);
                    line.push_str(operator);
                }
            }
            after_word = matches!(piece, Piece::Word(_));
        }
        if comment {
            line.push_str(" # a comment | > '");
        }
        line
    }

    proptest! {
        #[test]
        fn spelled_command_lines_parse_back(
            (commands, background) in pipeline(),
            comment in any::<bool>(),
            quotings in prop::collection::vec(
                prop::sample::select(vec![Quoting::Plain, Quoting::Single, Quoting::Double, Quoting::Backslash]),
                1..8,
            ),
            blanks in prop::collection::vec(any::<usize>(), 1..8),
        ) {
            let line = spell(&commands, background, comment, &quotings, &blanks);
            let expected = CommandLine {
                commands: commands.into_iter().map(|placed| placed.command).collect(),
                background,
            };
            prop_assert_eq!(parse(&line), Ok(expected), "{:?}", line);
        }

        #[test]
        fn parse_never_panics(line in "[a-c '\"\\\\|&<>#\t]{0,24}") {
            let _ = parse(&line);
        }
    }
}
