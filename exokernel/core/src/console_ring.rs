//! The bytes received on the serial console that nobody has read yet: a bounded first-in
//! first-out ring that the kernel fills by polling the port and
//! [`Syscall::ConsoleRead`](exo_abi::Syscall::ConsoleRead) empties. When it is full the kernel
//! stops taking bytes from the port, which then holds them back (QEMU's serial port waits, and
//! loses nothing), so the ring never drops a byte it took.

/// How many bytes the ring holds.
pub const CAPACITY: usize = exo_abi::CONSOLE_READ_MAX_BYTES as usize;

/// Received bytes in arrival order.
#[derive(Clone, Debug)]
pub struct ConsoleRing {
    bytes: [u8; CAPACITY],
    /// Index of the oldest byte.
    head: usize,
    len: usize,
}

impl Default for ConsoleRing {
    fn default() -> Self {
        ConsoleRing::new()
    }
}

impl ConsoleRing {
    /// An empty ring.
    pub const fn new() -> ConsoleRing {
        ConsoleRing {
            bytes: [0; CAPACITY],
            head: 0,
            len: 0,
        }
    }

    /// How many bytes wait to be read.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no byte waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Takes bytes from `receive` (which gives `None` when the port has nothing) until it has
    /// nothing more or the ring is full; `receive` is not called once the ring is full, so the
    /// port keeps what the ring cannot hold. Returns how many bytes it took.
    pub fn fill_from(&mut self, mut receive: impl FnMut() -> Option<u8>) -> usize {
        let mut taken = 0;
        while self.len < CAPACITY {
            let Some(byte) = receive() else {
                break;
            };
            self.bytes[(self.head + self.len) % CAPACITY] = byte;
            self.len += 1;
            taken += 1;
        }
        taken
    }

    /// Moves the oldest bytes into `buffer`, as many as fit; returns how many.
    pub fn take(&mut self, buffer: &mut [u8]) -> usize {
        let count = buffer.len().min(self.len);
        for slot in &mut buffer[..count] {
            *slot = self.bytes[self.head];
            self.head = (self.head + 1) % CAPACITY;
        }
        self.len -= count;
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    #[test]
    fn bytes_come_out_in_arrival_order() {
        let mut ring = ConsoleRing::new();
        let mut input = b"ls -l\n".iter().copied();
        assert_eq!(ring.fill_from(|| input.next()), 6);
        assert_eq!(ring.len(), 6);
        let mut buffer = [0; 3];
        assert_eq!(ring.take(&mut buffer), 3);
        assert_eq!(&buffer, b"ls ");
        let mut rest = [0; 10];
        assert_eq!(ring.take(&mut rest), 3);
        assert_eq!(&rest[..3], b"-l\n");
        assert!(ring.is_empty());
        assert_eq!(ring.take(&mut rest), 0);
    }

    #[test]
    fn a_full_ring_leaves_the_rest_in_the_port() {
        let mut ring = ConsoleRing::default();
        let mut sent = 0usize;
        let taken = ring.fill_from(|| {
            sent += 1;
            Some(sent as u8)
        });
        assert_eq!(taken, CAPACITY);
        assert_eq!(
            sent, CAPACITY,
            "no byte was taken from the port and dropped"
        );
        assert_eq!(ring.fill_from(|| panic!("the port is not read")), 0);
        let mut one = [0];
        ring.take(&mut one);
        assert_eq!(one[0], 1);
        assert_eq!(ring.fill_from(|| Some(0xAA)), 1);
        let mut all = [0; CAPACITY];
        assert_eq!(ring.take(&mut all), CAPACITY);
        assert_eq!((all[0], all[CAPACITY - 1]), (2, 0xAA));
    }

    proptest! {
        /// Against a model queue: whatever the interleaving of fills and reads, bytes come out
        /// once each, in order, and never more than the capacity wait.
        #[test]
        fn the_ring_is_a_bounded_queue(
            steps in proptest::collection::vec((any::<bool>(), 0usize..3000), 1..60)
        ) {
            let mut ring = ConsoleRing::new();
            let mut model: Vec<u8> = Vec::new();
            let mut next = 0u8;
            for (is_fill, count) in steps {
                if is_fill {
                    let mut offered = 0;
                    let taken = ring.fill_from(|| {
                        if offered == count {
                            return None;
                        }
                        offered += 1;
                        next = next.wrapping_add(1);
                        Some(next)
                    });
                    prop_assert_eq!(taken, offered);
                    for index in 0..taken {
                        model.push(next.wrapping_sub((taken - 1 - index) as u8));
                    }
                } else {
                    let mut buffer = alloc::vec![0; count];
                    let got = ring.take(&mut buffer);
                    let expected: Vec<u8> = model.drain(..got.min(model.len())).collect();
                    prop_assert_eq!(&buffer[..got], &expected[..]);
                    prop_assert_eq!(got, count.min(got + model.len()));
                }
                prop_assert!(ring.len() <= CAPACITY);
                prop_assert_eq!(ring.len(), model.len());
            }
        }
    }
}
