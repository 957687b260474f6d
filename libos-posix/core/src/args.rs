//! A program's arguments and the usual command-line forms of its options: letters after a `-`,
//! alone or grouped (`-rf`), some taking a value, given joined (`-oFILE`) or as the next
//! argument (`-o FILE`), until `--` or the first operand (`-` alone is an operand).

use alloc::vec::Vec;
use core::fmt;

/// The arguments a program was started with (not counting its name).
#[derive(Clone, Copy, Debug)]
pub struct Args {
    text: &'static str,
    separator: char,
}

/// Why a command line's options could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionError {
    /// An option letter the program does not know.
    Unknown(char),
    /// An option that takes a value was the last argument.
    MissingValue(char),
}

impl fmt::Display for OptionError {
    /// As getopt says it: `invalid option -- 'x'`, `option requires an argument -- 'o'`.
    fn fmt(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        match self {
            OptionError::Unknown(letter) => write!(formatter, "invalid option -- '{letter}'"),
            OptionError::MissingValue(letter) => {
                write!(formatter, "option requires an argument -- '{letter}'")
            }
        }
    }
}

/// The options and operands of a command line (see [`Args::parse`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Each option given, in order, with its value for one that takes a value.
    pub given: Vec<(char, Option<&'static str>)>,
    /// The operands, in order.
    pub operands: Vec<&'static str>,
}

impl Options {
    /// Whether option `letter` was given.
    pub fn has(&self, letter: char) -> bool {
        self.given.iter().any(|&(given, _)| given == letter)
    }

    /// The value of option `letter`, the last one given when it was given more than once.
    pub fn value(&self, letter: char) -> Option<&'static str> {
        self.given
            .iter()
            .rev()
            .find(|&&(given, _)| given == letter)
            .and_then(|&(_, value)| value)
    }
}

impl Args {
    /// The arguments in `text`, separated by white space (as the kernel passes them).
    pub fn from_command_line(text: &'static str) -> Args {
        Args {
            text,
            separator: ' ',
        }
    }

    /// The arguments in `text`, each ended or separated by a NUL byte, so that an argument
    /// may hold spaces (as this library passes them to a child).
    pub fn from_nul_separated(text: &'static str) -> Args {
        Args {
            text,
            separator: '\0',
        }
    }

    /// The arguments as one string: separated by spaces for a program the kernel started, by
    /// NUL bytes for one this library started (where an argument may hold spaces).
    pub fn as_str(&self) -> &'static str {
        self.text
    }

    /// The arguments one by one.
    pub fn iter(&self) -> impl Iterator<Item = &'static str> {
        let (text, separator) = (self.text, self.separator);
        text.split(move |character: char| {
            character == separator || (separator == ' ' && character.is_ascii_whitespace())
        })
        .filter(move |argument| !argument.is_empty() || (separator != ' ' && !text.is_empty()))
    }

    /// The options and operands, for a program whose options are the letters of `spec`, each
    /// followed by `:` when it takes a value (getopt's form: `"rfo:"` knows `-r`, `-f`, and
    /// `-o` with a value).
    pub fn parse(&self, spec: &str) -> Result<Options, OptionError> {
        self.parse_with(|letter| {
            let at = spec.find(letter).filter(|_| letter != ':')?;
            Some(spec[at + letter.len_utf8()..].starts_with(':'))
        })
    }

    /// The operands of a command line whose options take no value: each option letter goes to
    /// `accept`, which says whether the program knows it; the first unknown letter is the
    /// error.
    pub fn options_and_operands(
        &self,
        mut accept: impl FnMut(char) -> bool,
    ) -> Result<Vec<&'static str>, char> {
        match self.parse_with(|letter| accept(letter).then_some(false)) {
            Ok(options) => Ok(options.operands),
            Err(OptionError::Unknown(letter) | OptionError::MissingValue(letter)) => Err(letter),
        }
    }

    /// The operands, for a program that takes no options (see
    /// [`options_and_operands`](Args::options_and_operands)).
    pub fn operands(&self) -> Result<Vec<&'static str>, char> {
        self.options_and_operands(|_| false)
    }

    /// The options and operands, `takes_value` saying of each option letter whether it takes
    /// a value (`None`: unknown).
    fn parse_with(
        &self,
        mut takes_value: impl FnMut(char) -> Option<bool>,
    ) -> Result<Options, OptionError> {
        let mut options = Options::default();
        let mut arguments = self.iter().peekable();
        while let Some(group) =
            arguments.next_if(|argument| argument.starts_with('-') && *argument != "-")
        {
            if group == "--" {
                break;
            }
            let letters = &group[1..];
            for (at, letter) in letters.char_indices() {
                if !takes_value(letter).ok_or(OptionError::Unknown(letter))? {
                    options.given.push((letter, None));
                    continue;
                }
                let joined = &letters[at + letter.len_utf8()..];
                let value = match joined {
                    "" => arguments.next().ok_or(OptionError::MissingValue(letter))?,
                    joined => joined,
                };
                options.given.push((letter, Some(value)));
                break;
            }
        }
        options.operands = arguments.collect();
        Ok(options)
    }

    /// How many arguments there are.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn parsed(text: &'static str, spec: &str) -> Result<Options, OptionError> {
        Args::from_command_line(text).parse(spec)
    }

    #[test]
    fn arguments_split_on_white_space_or_on_nul() {
        let spaced = Args::from_command_line("  a  b\tc ");
        assert_eq!(spaced.iter().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(spaced.len(), 3);
        let nul = Args::from_nul_separated("a b\0\0c");
        assert_eq!(nul.iter().collect::<Vec<_>>(), ["a b", "", "c"]);
        assert!(Args::from_nul_separated("").is_empty());
        assert_eq!(Args::from_nul_separated("").iter().count(), 0);
    }

    #[test]
    fn a_value_comes_joined_or_as_the_next_argument() {
        let options = parsed("-v -o out.txt -Iinclude in.c", "vo:I:").unwrap();
        assert_eq!(
            options.given,
            vec![('v', None), ('o', Some("out.txt")), ('I', Some("include"))]
        );
        assert_eq!(options.operands, ["in.c"]);
        assert!(options.has('v') && !options.has('x'));
        assert_eq!(options.value('o'), Some("out.txt"));
        assert_eq!(options.value('v'), None);
    }

    #[test]
    fn grouped_letters_end_at_the_first_that_takes_a_value() {
        let options = parsed("-vo out -vofile.txt", "vo:").unwrap();
        assert_eq!(
            options.given,
            vec![
                ('v', None),
                ('o', Some("out")),
                ('v', None),
                ('o', Some("file.txt"))
            ]
        );
        assert_eq!(options.value('o'), Some("file.txt"));
        assert!(options.operands.is_empty());
    }

    #[test]
    fn a_value_may_look_like_an_option_and_options_end_at_operands() {
        let options = parsed("-o -v -- -v", "vo:").unwrap();
        assert_eq!(options.value('o'), Some("-v"));
        assert_eq!(options.operands, ["-v"]);
        let options = parsed("-v - -o x", "vo:").unwrap();
        assert_eq!(options.operands, ["-", "-o", "x"]);
    }

    #[test]
    fn unknown_letters_and_missing_values_are_errors() {
        assert_eq!(parsed("-x", "vo:"), Err(OptionError::Unknown('x')));
        assert_eq!(
            OptionError::Unknown('x').to_string(),
            "invalid option -- 'x'"
        );
        assert_eq!(
            OptionError::MissingValue('o').to_string(),
            "option requires an argument -- 'o'"
        );
        assert_eq!(parsed("-v -o", "vo:"), Err(OptionError::MissingValue('o')));
        assert_eq!(parsed("-:", "vo:"), Err(OptionError::Unknown(':')));
        assert_eq!(parsed("-é", "vo:"), Err(OptionError::Unknown('é')));
        assert_eq!(parsed("-éx", "éx:"), Err(OptionError::MissingValue('x')));
        assert_eq!(parsed("-é -xy", "éx:").unwrap().value('x'), Some("y"));
    }

    #[test]
    fn flag_only_parsing_keeps_its_contract() {
        let args = Args::from_command_line("-rf a -b");
        assert_eq!(
            args.options_and_operands(|letter| "rf".contains(letter)),
            Ok(vec!["a", "-b"])
        );
        assert_eq!(args.options_and_operands(|letter| letter == 'r'), Err('f'));
        assert_eq!(Args::from_command_line("-- -r").operands(), Ok(vec!["-r"]));
        assert_eq!(Args::from_command_line("-r").operands(), Err('r'));
    }
}
