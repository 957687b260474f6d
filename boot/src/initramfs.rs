//! A Linux initramfs: a cpio archive in the "newc" format (`Documentation/driver-api/
//! early-userspace/buffer-format.rst` in Linux), uncompressed, which the kernel unpacks into its
//! root file system before it starts `/init`.

/// An archive under construction.
#[derive(Debug, Default)]
pub struct Initramfs {
    bytes: Vec<u8>,
    entries: u32,
}

/// `/dev/console`'s device numbers: the kernel opens it for init's standard streams.
const CONSOLE_DEVICE: (u32, u32) = (5, 1);

impl Initramfs {
    /// An archive holding `/dev/console` and `program` as `/init`.
    pub fn with_init(program: &[u8]) -> Initramfs {
        let mut archive = Initramfs::default();
        archive.add("dev", 0o040_755, &[], (0, 0));
        archive.add("dev/console", 0o020_600, &[], CONSOLE_DEVICE);
        archive.add("init", 0o100_755, program, (0, 0));
        archive
    }

    /// Adds an entry named `name` (no leading `/`) with `mode` (type and permissions), the
    /// contents `data` and, for a device, its numbers.
    pub fn add(&mut self, name: &str, mode: u32, data: &[u8], device: (u32, u32)) {
        self.entries += 1;
        let name_size = name.len() as u32 + 1;
        let fields = [
            self.entries,
            mode,
            0,
            0,
            1,
            0,
            data.len() as u32,
            0,
            0,
            device.0,
            device.1,
            name_size,
            0,
        ];
        self.bytes.extend_from_slice(b"070701");
        for field in fields {
            self.bytes
                .extend_from_slice(format!("{field:08x}").as_bytes());
        }
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.pad();
        self.bytes.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.bytes.len().is_multiple_of(4) {
            self.bytes.push(0);
        }
    }

    /// The archive's bytes, with its trailer.
    pub fn finish(mut self) -> Vec<u8> {
        self.add("TRAILER!!!", 0, &[], (0, 0));
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry read back: name, mode, data, device numbers.
    type Entry = (String, u32, Vec<u8>, (u32, u32));

    /// The entries of a newc archive.
    fn parse(mut bytes: &[u8]) -> Vec<Entry> {
        let field = |header: &[u8], index: usize| {
            let text = std::str::from_utf8(&header[6 + index * 8..6 + index * 8 + 8]).unwrap();
            u32::from_str_radix(text, 16).unwrap()
        };
        let padded = |length: usize| length.next_multiple_of(4);
        let mut entries = Vec::new();
        loop {
            assert_eq!(&bytes[..6], b"070701");
            let (mode, size, name_size) = (field(bytes, 1), field(bytes, 6), field(bytes, 11));
            let device = (field(bytes, 9), field(bytes, 10));
            let name_end = 110 + name_size as usize;
            let name = String::from_utf8(bytes[110..name_end - 1].to_vec()).unwrap();
            let data_start = padded(name_end);
            let data = bytes[data_start..data_start + size as usize].to_vec();
            bytes = &bytes[padded(data_start + size as usize)..];
            if name == "TRAILER!!!" {
                assert!(bytes.is_empty());
                return entries;
            }
            entries.push((name, mode, data, device));
        }
    }

    #[test]
    fn the_archive_holds_the_console_and_init_aligned_as_the_format_says() {
        let program = b"\x7fELF odd length".to_vec();
        let bytes = Initramfs::with_init(&program).finish();
        assert!(bytes.len().is_multiple_of(4));
        let entries = parse(&bytes);
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].0, "dev");
        assert_eq!(
            entries[1],
            ("dev/console".into(), 0o020_600, vec![], (5, 1))
        );
        assert_eq!(entries[2], ("init".into(), 0o100_755, program, (0, 0)));
    }
}
