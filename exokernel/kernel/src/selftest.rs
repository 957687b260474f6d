//! Kernel self-tests chosen in `boot.cfg`; each ends the machine with its verdict.

use crate::arch::clock::now_microseconds;
use crate::arch::cpu::exit_qemu;
use crate::arch::paging::{read_from_frame, write_to_frame, zero_frame};
use crate::disk::{self, BlockNumber, Disk, DiskError};
use crate::kernel;
use crate::kprintln;
use crate::net::{self, MacAddress};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use exo_core::PAGE_SIZE;
use exo_core::environments::EnvId;
use exo_core::frame_table::{FrameNumber, FrameOwner};
use exo_core::guest_status::SELF_TEST_FAILED;
use exo_system::platform::AddressSpace as _;

/// Blocks the disk self-test moves in one vectored request each way.
const DISK_BATCH_BLOCKS: u64 = 4;

/// The kernel's IPv4 address in the net self-test: the one QEMU's user-mode network gives the
/// guest, to which the boot tool's forwarded ports lead (`boot::qemu_args::GUEST_IP`).
const GUEST_IP: [u8; 4] = [10, 0, 2, 15];
/// The gateway of QEMU's user-mode network, which answers ARP (`boot::qemu_args::GATEWAY_IP`).
const GATEWAY_IP: [u8; 4] = [10, 0, 2, 2];
/// The UDP port on which the net self-test echoes a datagram (the echo service's, RFC 862).
const ECHO_PORT: u16 = 7;
/// How long the net self-test waits for the gateway's ARP reply, asking again every
/// [`ARP_RETRY_MICROSECONDS`].
const ARP_WAIT_MICROSECONDS: u64 = 5_000_000;
const ARP_RETRY_MICROSECONDS: u64 = 1_000_000;
/// How long the net self-test waits for a datagram to echo.
const ECHO_WAIT_MICROSECONDS: u64 = 10_000_000;
const ETHERTYPE_IPV4: [u8; 2] = [0x08, 0x00];
const ETHERTYPE_ARP: [u8; 2] = [0x08, 0x06];
const IP_PROTOCOL_UDP: u8 = 17;

/// Reads a mapped user page of environment `victim` from the kernel without lifting SMAP. The
/// read must fault (and the fault handler ends the machine with the kernel-fault status); if it
/// succeeds, SMAP is not protecting the kernel and the test fails.
pub fn smap(victim: EnvId) -> ! {
    let address = kernel::with(|kernel| {
        kernel.current = Some(victim);
        let address_space = kernel.current_address_space();
        address_space.activate();
        let entry = kernel.environments.machine(victim).map(|m| m.registers.rip);
        entry.expect("the victim environment is alive")
    });
    kprintln!("smap selftest: touching user memory at {address:#x} without the user-copy path");
    // SAFETY: deliberately unsound if SMAP were off: it reads a user page the kernel may not
    // touch here. With SMAP on, the CPU raises a page fault before any byte is read.
    let byte = unsafe { (address as *const u8).read_volatile() };
    kprintln!("smap selftest: FAILED: the kernel read user byte {byte:#x} at {address:#x}");
    exit_qemu(SELF_TEST_FAILED)
}

/// Checks the disk end to end from kernel frames, then powers off (after the kernel's table
/// check) with status 0 when every block read back as written, or [`SELF_TEST_FAILED`] with the
/// first difference.
///
/// First it reads the last block and says whether it already holds the pattern, which an
/// earlier boot with the same disk left there (so a test can check that data survives a
/// reboot). Then it writes the pattern to the last block from one frame, flushes, reads it back
/// into another frame and compares; then the same for the [`DISK_BATCH_BLOCKS`] blocks before
/// it, written in one vectored request and read back, in reverse order, in another. It also
/// checks that a block past the end is refused.
pub fn disk() -> ! {
    let status = match check_disk() {
        Ok(summary) => {
            kprintln!("exokernel: self-test disk: passed ({summary})");
            0
        }
        Err(reason) => {
            kprintln!("exokernel: self-test disk: failed: {reason}");
            SELF_TEST_FAILED
        }
    };
    kernel::with(|kernel| kernel.power_off(status))
}

/// The pattern byte at `offset` of block `block`; `tests/tests/disk_selftest.rs` computes the
/// same on the host to check the disk image.
fn pattern_byte(block: BlockNumber, offset: usize) -> u8 {
    let value = (offset as u64 * 7)
        .wrapping_add(block.wrapping_mul(13))
        .wrapping_add(1);
    (value % 251) as u8
}

fn check_disk() -> Result<String, String> {
    let capacity = disk::with(|disk| disk.capacity_blocks()).ok_or("no disk")?;
    if capacity <= DISK_BATCH_BLOCKS {
        return Err(format!("the disk has only {capacity} blocks"));
    }
    let mut frames = Vec::new();
    for _ in 0..2 * (1 + DISK_BATCH_BLOCKS) {
        let frame = kernel::with(|kernel| kernel.frames.allocate(FrameOwner::Kernel));
        match frame {
            Ok(Some(frame)) => frames.push(frame),
            _ => break,
        }
    }
    let result = if frames.len() as u64 == 2 * (1 + DISK_BATCH_BLOCKS) {
        exercise_disk(capacity, &frames)
    } else {
        Err(String::from("no free frames"))
    };
    kernel::with(|kernel| {
        for &frame in &frames {
            let _ = kernel.frames.free(frame, FrameOwner::Kernel);
        }
    });
    result
}

/// The self-test proper, on `frames` (kernel frames, two per block it moves).
fn exercise_disk(capacity: u64, frames: &[FrameNumber]) -> Result<String, String> {
    let last = capacity - 1;
    let (source, target) = (frames[0], frames[1]);
    use_disk(|disk| disk.read_block(last, target))?;
    let state = match frame_holds_pattern(target, last) {
        Ok(()) => "already holds",
        Err(_) => "does not hold",
    };
    kprintln!("exokernel: self-test disk: the last block ({last}) {state} the test pattern");
    fill_with_pattern(source, last);
    zero_frame(target);
    use_disk(|disk| disk.write_block(last, source))?;
    use_disk(Disk::flush)?;
    use_disk(|disk| disk.read_block(last, target))?;
    frame_holds_pattern(target, last)?;

    let batch = DISK_BATCH_BLOCKS as usize;
    let blocks: Vec<BlockNumber> = (last - DISK_BATCH_BLOCKS..last).collect();
    let (sources, targets) = frames[2..].split_at(batch);
    let writes: Vec<(BlockNumber, FrameNumber)> = blocks
        .iter()
        .copied()
        .zip(sources.iter().copied())
        .collect();
    let reads: Vec<(BlockNumber, FrameNumber)> = blocks
        .iter()
        .rev()
        .copied()
        .zip(targets.iter().copied())
        .collect();
    for &(block, frame) in &writes {
        fill_with_pattern(frame, block);
    }
    for &frame in targets {
        zero_frame(frame);
    }
    use_disk(|disk| disk.write_blocks(&writes))?;
    use_disk(Disk::flush)?;
    use_disk(|disk| disk.read_blocks(&reads))?;
    for &(block, frame) in &reads {
        frame_holds_pattern(frame, block)?;
    }

    match disk::with(|disk| disk.read_block(capacity, target)) {
        Some(Err(DiskError::OutOfRange(block))) if block == capacity => {}
        other => {
            return Err(format!(
                "reading block {capacity}, past the end, gave {other:?}"
            ));
        }
    }
    Ok(format!(
        "{} blocks written and read back, {batch} of them in one vectored request each way",
        1 + batch
    ))
}

/// Checks the network device end to end, then powers off (after the kernel's table check) with
/// status 0, or [`SELF_TEST_FAILED`] with the reason.
///
/// It sends an ARP request for the gateway of QEMU's user-mode network ([`GATEWAY_IP`]) as
/// [`GUEST_IP`] and polls until the reply arrives (failing after [`ARP_WAIT_MICROSECONDS`]), which
/// also tells the gateway where the guest is. Then it waits up to [`ECHO_WAIT_MICROSECONDS`] for
/// one UDP datagram to [`ECHO_PORT`] (a host port forwarded to it, as `tests/tests/net_selftest.rs`
/// does) and sends it back; if none comes, it passes all the same and says so.
pub fn net() -> ! {
    let status = match check_net() {
        Ok(summary) => {
            kprintln!("exokernel: self-test net: passed ({summary})");
            0
        }
        Err(reason) => {
            kprintln!("exokernel: self-test net: failed: {reason}");
            SELF_TEST_FAILED
        }
    };
    kernel::with(|kernel| kernel.power_off(status))
}

fn check_net() -> Result<String, String> {
    let mac = net::with(|net| net.mac_address()).ok_or("no network device")?;
    let gateway_mac = resolve_gateway(mac)?;
    kprintln!(
        "exokernel: self-test net: {} is at {}",
        Ipv4(GATEWAY_IP),
        MacAddress(gateway_mac)
    );
    kprintln!(
        "exokernel: self-test net: echoing one UDP datagram sent to {}:{ECHO_PORT} (waiting up \
         to {} s)",
        Ipv4(GUEST_IP),
        ECHO_WAIT_MICROSECONDS / 1_000_000
    );
    let echoed = match echo_one_datagram(mac)? {
        Some(datagram) => format!(
            "echoed {} bytes to {}:{}",
            datagram.payload.len(),
            Ipv4(datagram.ip),
            datagram.port
        ),
        None => String::from("no UDP datagram arrived to echo"),
    };
    Ok(format!("the gateway answered ARP; {echoed}"))
}

/// Asks for the gateway's Ethernet address until it answers; returns it.
fn resolve_gateway(mac: [u8; 6]) -> Result<[u8; 6], String> {
    let request = arp_request(mac);
    let start = now_microseconds();
    let mut last_sent: Option<u64> = None;
    loop {
        let now = now_microseconds();
        if now.saturating_sub(start) > ARP_WAIT_MICROSECONDS {
            return Err(format!(
                "no ARP reply from {} within {} s",
                Ipv4(GATEWAY_IP),
                ARP_WAIT_MICROSECONDS / 1_000_000
            ));
        }
        if last_sent.is_none_or(|sent| now.saturating_sub(sent) >= ARP_RETRY_MICROSECONDS) {
            send_frame(&request)?;
            last_sent = Some(now);
        }
        let mut reply = None;
        net::with(|net| {
            net.receive(|frame| {
                reply = reply.or_else(|| arp_reply_from_gateway(frame));
            })
        });
        if let Some(gateway_mac) = reply {
            return Ok(gateway_mac);
        }
        core::hint::spin_loop();
    }
}

/// Waits for a UDP datagram to [`ECHO_PORT`] and sends it back; returns it, or `None` when none
/// arrived in time.
fn echo_one_datagram(mac: [u8; 6]) -> Result<Option<Datagram>, String> {
    let start = now_microseconds();
    while now_microseconds().saturating_sub(start) <= ECHO_WAIT_MICROSECONDS {
        let mut datagram = None;
        net::with(|net| {
            net.receive(|frame| {
                datagram = datagram.take().or_else(|| udp_to_echo(frame));
            })
        });
        if let Some(datagram) = datagram {
            send_frame(&udp_frame(mac, &datagram))?;
            return Ok(Some(datagram));
        }
        core::hint::spin_loop();
    }
    Ok(None)
}

fn send_frame(frame: &[u8]) -> Result<(), String> {
    match net::with(|net| net.send(frame)) {
        Some(Ok(())) => Ok(()),
        Some(Err(error)) => Err(format!("sending a frame failed: {error:?}")),
        None => Err(String::from("no network device")),
    }
}

/// An ARP request (RFC 826) from `mac` at [`GUEST_IP`] for [`GATEWAY_IP`], broadcast.
fn arp_request(mac: [u8; 6]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(42);
    frame.extend_from_slice(&[0xff; 6]);
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&ETHERTYPE_ARP);
    // Ethernet hardware (1), IPv4 protocol, 6- and 4-byte addresses, operation 1 (request).
    frame.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&GUEST_IP);
    frame.extend_from_slice(&[0; 6]);
    frame.extend_from_slice(&GATEWAY_IP);
    frame
}

/// The gateway's Ethernet address, when `frame` is its ARP reply to [`GUEST_IP`].
fn arp_reply_from_gateway(frame: &[u8]) -> Option<[u8; 6]> {
    let is_reply = bytes::<2>(frame, 12)? == ETHERTYPE_ARP
        && bytes::<8>(frame, 14)? == [0, 1, 0x08, 0x00, 6, 4, 0, 2]
        && bytes::<4>(frame, 28)? == GATEWAY_IP
        && bytes::<4>(frame, 38)? == GUEST_IP;
    if is_reply {
        bytes::<6>(frame, 22)
    } else {
        None
    }
}

/// A UDP datagram to echo: its payload and where it came from.
struct Datagram {
    mac: [u8; 6],
    ip: [u8; 4],
    port: u16,
    payload: Vec<u8>,
}

/// The datagram in `frame`, when it is an unfragmented IPv4 UDP datagram to
/// [`GUEST_IP`]:[`ECHO_PORT`]. Every length in it is checked against the frame.
fn udp_to_echo(frame: &[u8]) -> Option<Datagram> {
    if bytes::<2>(frame, 12)? != ETHERTYPE_IPV4 {
        return None;
    }
    let ip = frame.get(14..)?;
    let [version_and_length, ..] = bytes::<1>(ip, 0)?;
    let header_bytes = usize::from(version_and_length & 0xf) * 4;
    let total_bytes = usize::from(u16::from_be_bytes(bytes(ip, 2)?));
    let is_fragment = u16::from_be_bytes(bytes(ip, 6)?) & 0x3fff != 0;
    if version_and_length >> 4 != 4
        || header_bytes < 20
        || is_fragment
        || bytes::<1>(ip, 9)? != [IP_PROTOCOL_UDP]
        || bytes::<4>(ip, 16)? != GUEST_IP
    {
        return None;
    }
    let udp = ip.get(header_bytes..total_bytes)?;
    let udp_bytes = usize::from(u16::from_be_bytes(bytes(udp, 4)?));
    if u16::from_be_bytes(bytes(udp, 2)?) != ECHO_PORT || udp_bytes < 8 {
        return None;
    }
    Some(Datagram {
        mac: bytes(frame, 6)?,
        ip: bytes(ip, 12)?,
        port: u16::from_be_bytes(bytes(udp, 0)?),
        payload: udp.get(8..udp_bytes)?.to_vec(),
    })
}

/// An Ethernet frame from `mac` carrying `datagram`'s payload back to its sender, from
/// [`GUEST_IP`]:[`ECHO_PORT`] (IPv4 without options, UDP without checksum).
fn udp_frame(mac: [u8; 6], datagram: &Datagram) -> Vec<u8> {
    let udp_bytes = 8 + datagram.payload.len();
    let total_bytes = 20 + udp_bytes;
    let mut frame = Vec::with_capacity(14 + total_bytes);
    frame.extend_from_slice(&datagram.mac);
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&ETHERTYPE_IPV4);
    let mut ip_header = [0u8; 20];
    ip_header[0] = 0x45; // version 4, five 32-bit words of header
    ip_header[2..4].copy_from_slice(&(total_bytes as u16).to_be_bytes());
    ip_header[6] = 0x40; // don't fragment
    ip_header[8] = 64; // time to live
    ip_header[9] = IP_PROTOCOL_UDP;
    ip_header[12..16].copy_from_slice(&GUEST_IP);
    ip_header[16..20].copy_from_slice(&datagram.ip);
    let checksum = internet_checksum(&ip_header);
    ip_header[10..12].copy_from_slice(&checksum.to_be_bytes());
    frame.extend_from_slice(&ip_header);
    frame.extend_from_slice(&ECHO_PORT.to_be_bytes());
    frame.extend_from_slice(&datagram.port.to_be_bytes());
    frame.extend_from_slice(&(udp_bytes as u16).to_be_bytes());
    frame.extend_from_slice(&[0, 0]);
    frame.extend_from_slice(&datagram.payload);
    frame
}

/// The ones'-complement sum of `header`'s 16-bit words, complemented (RFC 1071).
fn internet_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|pair| u32::from(pair[0]) << 8 | u32::from(pair.get(1).copied().unwrap_or(0)))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The `N` bytes of `data` at `offset`, if it holds them.
fn bytes<const N: usize>(data: &[u8], offset: usize) -> Option<[u8; N]> {
    data.get(offset..offset.checked_add(N)?)?.try_into().ok()
}

/// An IPv4 address, displayed in dotted decimal.
struct Ipv4([u8; 4]);

impl core::fmt::Display for Ipv4 {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let [a, b, c, d] = self.0;
        write!(formatter, "{a}.{b}.{c}.{d}")
    }
}

/// Runs `request` on the disk, turning a missing disk or a failure into a message.
fn use_disk(request: impl FnOnce(&mut Disk) -> Result<(), DiskError>) -> Result<(), String> {
    match disk::with(request) {
        Some(Ok(())) => Ok(()),
        Some(Err(error)) => Err(format!("disk request failed: {error:?}")),
        None => Err(String::from("no disk")),
    }
}

fn fill_with_pattern(frame: FrameNumber, block: BlockNumber) {
    let mut bytes = [0u8; PAGE_SIZE as usize];
    for (offset, byte) in bytes.iter_mut().enumerate() {
        *byte = pattern_byte(block, offset);
    }
    write_to_frame(frame, 0, &bytes);
}

/// Compares `frame` with block `block`'s pattern; describes the first difference.
fn frame_holds_pattern(frame: FrameNumber, block: BlockNumber) -> Result<(), String> {
    let mut bytes = [0u8; PAGE_SIZE as usize];
    read_from_frame(frame, 0, &mut bytes);
    match bytes
        .iter()
        .enumerate()
        .find(|&(offset, &byte)| byte != pattern_byte(block, offset))
    {
        None => Ok(()),
        Some((offset, &found)) => Err(format!(
            "block {block} read back {found:#04x} at byte {offset}, expected {:#04x}",
            pattern_byte(block, offset)
        )),
    }
}
