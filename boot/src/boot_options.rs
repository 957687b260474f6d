//! What the kernel is told to do at boot, and its encoding as the ramdisk's `boot.cfg`.
//!
//! The keys are documented in `exo_core::boot_config`, which also parses them in the kernel.

use anyhow::{Result, bail};
use exo_core::boot_config::{LogLevel, SelfTest};
use exo_core::ramdisk::NAME_MAX_BYTES;

/// The options written into `boot.cfg`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootOptions {
    /// The ramdisk program started as the init environment.
    pub init: String,
    /// Init's argument string (programs separated by spaces, for the `init` app).
    pub args: String,
    /// Kernel log verbosity.
    pub log_level: LogLevel,
    /// A kernel self-test run instead of init.
    pub self_test: Option<SelfTest>,
}

impl Default for BootOptions {
    /// The configuration of `make run`: init without arguments, which runs the shell, and the
    /// kernel logging warnings only (programs' ends, logged at info, are the shell's to report).
    fn default() -> Self {
        BootOptions {
            init: "init".to_owned(),
            args: String::new(),
            log_level: LogLevel::Warn,
            self_test: None,
        }
    }
}

impl BootOptions {
    /// The text of `boot.cfg`; fails on values the format cannot carry.
    pub fn boot_cfg_text(&self) -> Result<String> {
        self.check()?;
        let mut text = String::from("# boot.cfg, written by the boot tool\n");
        text.push_str(&format!("init={}\n", self.init));
        text.push_str(&format!("args={}\n", self.args.trim()));
        text.push_str(&format!("log={}\n", self.log_level.name()));
        if let Some(self_test) = self.self_test {
            text.push_str(&format!("selftest={}\n", self_test.name()));
        }
        Ok(text)
    }

    fn check(&self) -> Result<()> {
        let init = &self.init;
        if init.is_empty() || init.len() > NAME_MAX_BYTES {
            bail!("init program name `{init}` must be 1 to {NAME_MAX_BYTES} bytes long");
        }
        if init
            .chars()
            .any(|c| c.is_whitespace() || c == '=' || c == '#')
        {
            bail!("init program name `{init}` may not contain spaces, `=` or `#`");
        }
        if self.args.contains(['\n', '\r']) {
            bail!("init arguments may not contain line breaks");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use exo_core::boot_config::BootConfig;

    #[test]
    fn default_options_run_the_shell_under_init() {
        let text = BootOptions::default().boot_cfg_text().unwrap();
        assert_eq!(
            text,
            "# boot.cfg, written by the boot tool\ninit=init\nargs=\nlog=warn\n"
        );
    }

    #[test]
    fn the_kernel_parser_reads_back_every_option() {
        let options = BootOptions {
            init: "init".to_owned(),
            args: " hostile-null  hostile-spin ".to_owned(),
            log_level: LogLevel::Trace,
            self_test: Some(SelfTest::Smap),
        };
        let text = options.boot_cfg_text().unwrap();
        let config = BootConfig::parse(&text).unwrap();
        assert_eq!(config.init, "init");
        assert_eq!(config.args, "hostile-null  hostile-spin");
        assert_eq!(config.log_level, LogLevel::Trace);
        assert_eq!(config.self_test, Some(SelfTest::Smap));
    }

    #[test]
    fn every_log_level_reaches_the_kernel_parser() {
        for level in LogLevel::ALL {
            let options = BootOptions {
                log_level: level,
                ..BootOptions::default()
            };
            let text = options.boot_cfg_text().unwrap();
            assert_eq!(BootConfig::parse(&text).unwrap().log_level, level);
        }
    }

    #[test]
    fn rejects_values_boot_cfg_cannot_carry() {
        let with_init = |init: &str| BootOptions {
            init: init.to_owned(),
            ..BootOptions::default()
        };
        assert!(with_init("").boot_cfg_text().is_err());
        assert!(with_init("two words").boot_cfg_text().is_err());
        assert!(with_init("a=b").boot_cfg_text().is_err());
        assert!(
            with_init(&"x".repeat(NAME_MAX_BYTES + 1))
                .boot_cfg_text()
                .is_err()
        );
        let broken_args = BootOptions {
            args: "hello\ninit=evil".to_owned(),
            ..BootOptions::default()
        };
        assert!(broken_args.boot_cfg_text().is_err());
    }
}
