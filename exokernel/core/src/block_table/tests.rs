//! Unit tests of every operation and every error of the block table, on an in-memory disk.

use super::disk_format::{self, TableKind, crc32, zeroed_block};
use super::memory_disk::{MemoryDisk, UnflushedWrites};
use super::*;

/// Blocks on the test disk: superblock, one principal table block and one owner table block
/// (two copies each), then data blocks 5 to 39.
const DISK_BLOCKS: u64 = 40;
const DATA_START: u64 = 5;
/// What every block holds before the table is formatted: a previous user's data.
const OLD_DATA: u8 = 0xEE;

fn formatted() -> (MemoryDisk, BlockTable) {
    let mut disk = MemoryDisk::new(DISK_BLOCKS, OLD_DATA);
    let table = BlockTable::format_with(&mut disk, 1).unwrap();
    (disk, table)
}

fn credential(number: u8) -> Credential {
    Credential([number; 16])
}

/// A formatted disk with environment 1 bound to credential 1 and environment 2 to credential 2.
fn with_two_environments() -> (MemoryDisk, BlockTable) {
    let (mut disk, mut table) = formatted();
    for number in [1, 2] {
        let presentation =
            table.present_credential(&mut disk, EnvId(number.into()), credential(number));
        assert!(presentation.unwrap().is_new);
    }
    (disk, table)
}

fn remount(disk: &mut MemoryDisk) -> BlockTable {
    let table = BlockTable::mount(disk).unwrap();
    table.check_invariants().unwrap();
    table
}

/// Rewrites the superblock's checksum after a test changed its fields.
fn reseal_superblock(block: &mut disk_format::BlockBytes) {
    let checksum = crc32(&[&block[..64]]);
    block[64..68].copy_from_slice(&checksum.to_le_bytes());
}

#[test]
fn crc32_matches_the_standard_check_value() {
    assert_eq!(crc32(&[b"123456789"]), 0xCBF4_3926);
    assert_eq!(crc32(&[b"1234", b"56789"]), 0xCBF4_3926);
}

#[test]
fn the_table_buffers_lie_in_one_frame_each() {
    let block = zeroed_block();
    let address = core::ptr::from_ref(&*block) as usize;
    assert_eq!(address % BLOCK_SIZE_BYTES, 0);
}

#[test]
fn layout_places_two_copies_of_each_table_block_before_the_data() {
    let layout = Layout::new(DISK_BLOCKS, 1).unwrap();
    assert_eq!(
        (
            layout.principal_table_start,
            layout.owner_table_start,
            layout.data_start
        ),
        (1, 3, DATA_START)
    );
    assert_eq!(layout.copy_block(TableKind::Owners, 0, 1), 4);
    assert_eq!(layout.principal_capacity(), 127);
    let large = Layout::new(10_000, 4).unwrap();
    assert_eq!(large.owner_table_blocks, 10);
    assert_eq!(large.data_start, 1 + 8 + 20);
    assert_eq!(Layout::new(5, 1), Err(FormatError::TooSmall));
    assert_eq!(
        Layout::new(MAX_BLOCK_COUNT + 1, 1),
        Err(FormatError::TooLarge)
    );
    assert_eq!(
        Layout::new(DISK_BLOCKS, 0),
        Err(FormatError::InvalidPrincipalTableSize)
    );
    assert_eq!(
        Layout::new(1 << 20, MAX_PRINCIPAL_TABLE_BLOCKS + 1),
        Err(FormatError::InvalidPrincipalTableSize)
    );
}

#[test]
fn format_refuses_disks_it_cannot_hold() {
    let mut small = MemoryDisk::new(5, 0);
    assert_eq!(
        BlockTable::format_with(&mut small, 1).unwrap_err(),
        FormatError::TooSmall
    );
    let mut disk = MemoryDisk::new(11, 0);
    assert_eq!(
        BlockTable::format(&mut disk).unwrap_err(),
        FormatError::TooSmall,
        "the default principal table takes 8 blocks, and the owner table 2"
    );
    let mut disk = MemoryDisk::new(DISK_BLOCKS, 0);
    assert_eq!(
        BlockTable::format(&mut disk).unwrap().layout().data_start,
        11
    );
    disk.is_failing = true;
    assert_eq!(
        BlockTable::format_with(&mut disk, 1).unwrap_err(),
        FormatError::Device(DeviceError::Failed)
    );
}

#[test]
fn format_then_mount_gives_an_empty_table() {
    let (mut disk, table) = formatted();
    table.check_invariants().unwrap();
    table.check_against_disk(&mut disk).unwrap();
    assert_eq!(table.free_count(), DISK_BLOCKS - DATA_START);
    assert_eq!(table.owner(0), Some(BlockOwner::Kernel));
    assert_eq!(table.owner(DATA_START - 1), Some(BlockOwner::Kernel));
    assert_eq!(table.owner(DATA_START), Some(BlockOwner::Free));
    assert_eq!(table.owner(DISK_BLOCKS), None);
    assert_eq!(table.owner(u64::MAX), None);
    let mounted = remount(&mut disk);
    assert_eq!(mounted.layout(), table.layout());
    assert_eq!(mounted.free_count(), table.free_count());
}

#[test]
fn mount_of_an_unformatted_disk_says_so() {
    let mut blank = MemoryDisk::new(DISK_BLOCKS, 0);
    assert_eq!(
        BlockTable::mount(&mut blank).unwrap_err(),
        MountError::NotFormatted
    );
    let (mut disk, _) = formatted();
    let mut superblock = *disk.block(0);
    superblock[100] ^= 1;
    disk.overwrite(0, &superblock);
    assert!(
        BlockTable::mount(&mut disk).is_ok(),
        "bytes past the checksummed part are unused"
    );
    superblock[20] ^= 1;
    disk.overwrite(0, &superblock);
    assert_eq!(
        BlockTable::mount(&mut disk).unwrap_err(),
        MountError::NotFormatted
    );
}

#[test]
fn mount_refuses_another_version_size_or_layout() {
    let (mut disk, _) = formatted();
    let good = *disk.block(0);

    let mut other_version = good;
    other_version[8] = 2;
    reseal_superblock(&mut other_version);
    disk.overwrite(0, &other_version);
    assert_eq!(
        BlockTable::mount(&mut disk).unwrap_err(),
        MountError::UnsupportedVersion(2)
    );

    let mut impossible = good;
    impossible[56] += 1; // data start
    reseal_superblock(&mut impossible);
    disk.overwrite(0, &impossible);
    assert!(matches!(
        BlockTable::mount(&mut disk),
        Err(MountError::Corrupt { block: 0, .. })
    ));

    let mut larger = MemoryDisk::new(DISK_BLOCKS + 1, 0);
    larger.overwrite(0, &good);
    assert_eq!(
        BlockTable::mount(&mut larger).unwrap_err(),
        MountError::SizeMismatch {
            recorded_block_count: DISK_BLOCKS,
            device_block_count: DISK_BLOCKS + 1
        }
    );

    disk.overwrite(0, &good);
    disk.is_failing = true;
    assert_eq!(
        BlockTable::mount(&mut disk).unwrap_err(),
        MountError::Device(DeviceError::Failed)
    );
}

#[test]
fn mount_reports_a_table_block_with_no_intact_copy() {
    let (mut disk, _) = formatted();
    let mut damaged = *disk.block(3);
    damaged[2000] ^= 0x10;
    disk.overwrite(3, &damaged);
    assert!(
        BlockTable::mount(&mut disk).is_ok(),
        "copy B is still intact"
    );
    disk.overwrite(4, &[0; BLOCK_SIZE_BYTES]);
    assert_eq!(
        BlockTable::mount(&mut disk).unwrap_err(),
        MountError::Corrupt {
            block: 3,
            reason: "neither copy of a table block is intact"
        }
    );
}

/// Writes copy B of a table block with `payload` and a sequence number newer than any the
/// formatted disk holds, as a bug or a forged disk might.
fn plant_table_block(
    disk: &mut MemoryDisk,
    kind: TableKind,
    fill_payload: impl FnOnce(&mut disk_format::BlockBytes),
) {
    let mut block = zeroed_block();
    fill_payload(&mut block);
    disk_format::seal(&mut block, kind, 0, 99);
    let layout = Layout::new(DISK_BLOCKS, 1).unwrap();
    disk.overwrite(layout.copy_block(kind, 0, 1), &block);
}

#[test]
fn mount_refuses_owners_that_cannot_be() {
    let owner_of_principal_0 = disk_format::owner_entry(Some(PrincipalId(0)));
    let cases: [(u64, u32); 3] = [
        (DATA_START, owner_of_principal_0),  // principal 0 is not in use
        (2, 0),                              // a table block, but valid: free
        (DISK_BLOCKS, owner_of_principal_0), // beyond the disk
    ];
    for (block, entry) in cases {
        let (mut disk, _) = formatted();
        plant_table_block(&mut disk, TableKind::Owners, |payload| {
            let mut entries = [0u32; DISK_BLOCKS as usize + 1];
            entries[block as usize] = entry;
            disk_format::encode_owners(payload, &entries);
        });
        let mounted = BlockTable::mount(&mut disk);
        assert_eq!(
            mounted.is_ok(),
            entry == 0,
            "entry {entry} for block {block}"
        );
    }
    let (mut disk, mut table) = with_two_environments();
    table
        .allocate(&mut disk, EnvId(1), Some(DATA_START))
        .unwrap();
    plant_table_block(&mut disk, TableKind::Owners, |payload| {
        let mut entries = [0u32; DISK_BLOCKS as usize];
        entries[1] = owner_of_principal_0; // a table block
        disk_format::encode_owners(payload, &entries);
    });
    assert!(matches!(
        BlockTable::mount(&mut disk),
        Err(MountError::Corrupt { block: 3, .. })
    ));
}

#[test]
fn mount_refuses_malformed_or_duplicate_principals() {
    let (mut disk, _) = formatted();
    plant_table_block(&mut disk, TableKind::Principals, |payload| {
        disk_format::encode_principals(payload, &[Some(credential(7)), None, Some(credential(7))]);
    });
    assert!(matches!(
        BlockTable::mount(&mut disk),
        Err(MountError::Corrupt { block: 1, .. })
    ));
    plant_table_block(&mut disk, TableKind::Principals, |payload| {
        disk_format::encode_principals(payload, &[Some(credential(7))]);
        payload[32 + 4] = 1; // reserved byte of the record
    });
    assert!(matches!(
        BlockTable::mount(&mut disk),
        Err(MountError::Corrupt { block: 1, .. })
    ));
    plant_table_block(&mut disk, TableKind::Principals, |payload| {
        payload[32] = 1; // in use, with the all-zero credential
    });
    assert!(BlockTable::mount(&mut disk).is_err());
}

#[test]
fn a_new_credential_creates_a_principal_durably() {
    let (mut disk, mut table) = formatted();
    let presentation = table
        .present_credential(&mut disk, EnvId(1), credential(1))
        .unwrap();
    assert_eq!(
        presentation,
        Presentation {
            principal: PrincipalId(0),
            is_new: true
        }
    );
    assert_eq!(table.principal_of(EnvId(1)), Some(PrincipalId(0)));
    assert!(table.environments_of(PrincipalId(0)).eq([EnvId(1)]));
    table.check_invariants().unwrap();
    table.check_against_disk(&mut disk).unwrap();
}

#[test]
fn presenting_again_is_idempotent_and_an_environment_has_one_principal() {
    let (mut disk, mut table) = with_two_environments();
    let again = table.present_credential(&mut disk, EnvId(1), credential(1));
    assert_eq!(again.map(|presentation| presentation.is_new), Ok(false));
    assert_eq!(
        table.present_credential(&mut disk, EnvId(1), credential(2)),
        Err(Error::InvalidArgument),
        "an environment is bound to one principal"
    );
    assert_eq!(
        table.present_credential(&mut disk, EnvId(1), credential(9)),
        Err(Error::InvalidArgument)
    );
    assert_eq!(
        table.present_credential(&mut disk, EnvId(3), Credential([0; 16])),
        Err(Error::InvalidArgument)
    );
    table.check_invariants().unwrap();
}

#[test]
fn several_environments_share_one_principal_and_its_blocks() {
    let (mut disk, mut table) = with_two_environments();
    let shared = table
        .present_credential(&mut disk, EnvId(3), credential(1))
        .unwrap();
    assert_eq!(
        shared,
        Presentation {
            principal: PrincipalId(0),
            is_new: false
        }
    );
    assert!(
        table
            .environments_of(PrincipalId(0))
            .eq([EnvId(1), EnvId(3)])
    );
    table.check_invariants().unwrap();
    let block = table.allocate(&mut disk, EnvId(1), None).unwrap();
    let other = table.allocate(&mut disk, EnvId(3), None).unwrap();
    assert_eq!(table.check_access(EnvId(3), block), Ok(()));
    assert_eq!(table.check_access(EnvId(1), other), Ok(()));
    assert_eq!(
        table.check_access(EnvId(2), block),
        Err(Error::PermissionDenied)
    );
    table
        .write_data(&mut disk, EnvId(1), block, &[0x5A; BLOCK_SIZE_BYTES])
        .unwrap();
    let mut read = [0; BLOCK_SIZE_BYTES];
    table
        .read_data(&mut disk, EnvId(3), block, &mut read)
        .unwrap();
    assert_eq!(read[0], 0x5A);
    assert_eq!(table.blocks_of(EnvId(1)), table.blocks_of(EnvId(3)));
    assert_eq!(table.count_owned_by(EnvId(3)), 2);
    assert_eq!(
        table.repossess(&mut disk, other).unwrap().environments,
        [EnvId(1), EnvId(3)],
        "everyone bound is told"
    );

    assert_eq!(table.release_environment(EnvId(1)), Some(PrincipalId(0)));
    assert_eq!(
        table.check_access(EnvId(3), block),
        Ok(()),
        "the others keep it"
    );
    assert_eq!(table.free(&mut disk, EnvId(3), block), Ok(()));
    assert!(table.environments_of(PrincipalId(0)).eq([EnvId(3)]));
    table.check_invariants().unwrap();
    table.check_against_disk(&mut disk).unwrap();
}

#[test]
fn a_credential_gives_the_blocks_back_after_a_reboot() {
    let (mut disk, mut table) = with_two_environments();
    let named = table.allocate(&mut disk, EnvId(1), Some(20)).unwrap();
    let any = table.allocate(&mut disk, EnvId(1), None).unwrap();
    table.allocate(&mut disk, EnvId(2), None).unwrap();
    assert_eq!((named, any), (20, DATA_START));

    let mut rebooted = remount(&mut disk);
    assert_eq!(
        rebooted.principal_of(EnvId(1)),
        None,
        "bindings do not survive"
    );
    assert_eq!(
        rebooted.check_access(EnvId(1), 20),
        Err(Error::PermissionDenied)
    );
    let presentation = rebooted
        .present_credential(&mut disk, EnvId(7), credential(1))
        .unwrap();
    assert_eq!(presentation.principal, PrincipalId(0));
    assert!(!presentation.is_new);
    assert_eq!(rebooted.blocks_of(EnvId(7)), [DATA_START, 20]);
    assert_eq!(rebooted.count_owned_by(EnvId(7)), 2);
    assert_eq!(rebooted.check_access(EnvId(7), 20), Ok(()));
}

#[test]
fn a_full_principal_table_forgets_only_principals_with_nothing() {
    let (mut disk, mut table) = formatted();
    let capacity = Layout::new(DISK_BLOCKS, 1).unwrap().principal_capacity() as u32;
    for number in 1..=capacity {
        table
            .present_credential(&mut disk, EnvId(number), credential(number as u8))
            .unwrap();
    }
    assert_eq!(
        table.present_credential(&mut disk, EnvId(500), credential(200)),
        Err(Error::NoMemory),
        "every principal is bound"
    );
    table.allocate(&mut disk, EnvId(1), None).unwrap();
    for number in 1..=capacity {
        table.release_environment(EnvId(number));
    }
    let reused = table
        .present_credential(&mut disk, EnvId(500), credential(200))
        .unwrap();
    assert_eq!(reused.principal, PrincipalId(1), "principal 0 owns a block");
    let forgotten = table
        .present_credential(&mut disk, EnvId(501), credential(2))
        .unwrap();
    assert!(forgotten.is_new);
    table.check_invariants().unwrap();
    table.check_against_disk(&mut disk).unwrap();
}

#[test]
fn allocation_by_name_checks_the_block() {
    let (mut disk, mut table) = with_two_environments();
    assert_eq!(table.allocate(&mut disk, EnvId(1), Some(30)), Ok(30));
    assert_eq!(table.owner(30), Some(BlockOwner::Principal(PrincipalId(0))));
    assert_eq!(
        table.allocate(&mut disk, EnvId(2), Some(30)),
        Err(Error::Occupied)
    );
    assert_eq!(
        table.allocate(&mut disk, EnvId(1), Some(30)),
        Err(Error::Occupied)
    );
    for block in [0, 1, DATA_START - 1, DISK_BLOCKS, u64::MAX] {
        assert_eq!(
            table.allocate(&mut disk, EnvId(1), Some(block)),
            Err(Error::InvalidArgument)
        );
    }
    assert_eq!(
        table.allocate(&mut disk, EnvId(9), Some(31)),
        Err(Error::PermissionDenied)
    );
    assert_eq!(
        table.allocate(&mut disk, EnvId(9), None),
        Err(Error::PermissionDenied)
    );
    table.check_invariants().unwrap();
    table.check_against_disk(&mut disk).unwrap();
}

#[test]
fn allocation_of_any_block_takes_the_lowest_until_none_is_left() {
    let (mut disk, mut table) = with_two_environments();
    table
        .allocate(&mut disk, EnvId(2), Some(DATA_START + 1))
        .unwrap();
    assert_eq!(table.allocate(&mut disk, EnvId(1), None), Ok(DATA_START));
    assert_eq!(
        table.allocate(&mut disk, EnvId(1), None),
        Ok(DATA_START + 2)
    );
    while table.free_count() > 0 {
        table.allocate(&mut disk, EnvId(1), None).unwrap();
    }
    assert_eq!(
        table.allocate(&mut disk, EnvId(1), None),
        Err(Error::NoMemory)
    );
    assert_eq!(table.count_owned_by(EnvId(1)), DISK_BLOCKS - DATA_START - 1);
    table.check_invariants().unwrap();
    table.check_against_disk(&mut disk).unwrap();
}

#[test]
fn allocation_zeroes_the_block_before_recording_it() {
    let (mut disk, mut table) = with_two_environments();
    assert_eq!(disk.block(DATA_START)[0], OLD_DATA);
    let block = table.allocate(&mut disk, EnvId(1), None).unwrap();
    let mut buffer = [1u8; BLOCK_SIZE_BYTES];
    table
        .read_data(&mut disk, EnvId(1), block, &mut buffer)
        .unwrap();
    assert!(buffer.iter().all(|&byte| byte == 0));
}

#[test]
fn only_the_owner_frees() {
    let (mut disk, mut table) = with_two_environments();
    let block = table.allocate(&mut disk, EnvId(1), None).unwrap();
    assert_eq!(
        table.free(&mut disk, EnvId(2), block),
        Err(Error::PermissionDenied)
    );
    assert_eq!(
        table.free(&mut disk, EnvId(9), block),
        Err(Error::PermissionDenied)
    );
    assert_eq!(
        table.free(&mut disk, EnvId(1), 2),
        Err(Error::InvalidArgument)
    );
    assert_eq!(
        table.free(&mut disk, EnvId(1), DISK_BLOCKS),
        Err(Error::InvalidArgument)
    );
    assert_eq!(table.free(&mut disk, EnvId(1), block), Ok(()));
    assert_eq!(table.owner(block), Some(BlockOwner::Free));
    assert_eq!(
        table.free(&mut disk, EnvId(1), block),
        Err(Error::PermissionDenied),
        "a free block is owned by nobody"
    );
    table.check_invariants().unwrap();
    table.check_against_disk(&mut disk).unwrap();
}

#[test]
fn access_needs_a_binding_and_ownership() {
    let (mut disk, mut table) = with_two_environments();
    let block = table.allocate(&mut disk, EnvId(1), None).unwrap();
    assert_eq!(table.check_access(EnvId(1), block), Ok(()));
    assert_eq!(
        table.check_access(EnvId(2), block),
        Err(Error::PermissionDenied)
    );
    assert_eq!(
        table.check_access(EnvId(9), block),
        Err(Error::PermissionDenied)
    );
    assert_eq!(
        table.check_access(EnvId(1), block + 1),
        Err(Error::PermissionDenied)
    );
    assert_eq!(table.check_access(EnvId(1), 0), Err(Error::InvalidArgument));
    assert_eq!(
        table.check_access(EnvId(1), u64::MAX),
        Err(Error::InvalidArgument)
    );
}

#[test]
fn data_goes_only_to_and_from_owned_blocks() {
    let (mut disk, mut table) = with_two_environments();
    let block = table.allocate(&mut disk, EnvId(1), None).unwrap();
    let data = [0x5A; BLOCK_SIZE_BYTES];
    table.write_data(&mut disk, EnvId(1), block, &data).unwrap();
    let mut buffer = [0; BLOCK_SIZE_BYTES];
    table
        .read_data(&mut disk, EnvId(1), block, &mut buffer)
        .unwrap();
    assert_eq!(buffer, data);
    assert_eq!(
        table.read_data(&mut disk, EnvId(2), block, &mut buffer),
        Err(Error::PermissionDenied)
    );
    assert_eq!(
        table.write_data(&mut disk, EnvId(2), block, &data),
        Err(Error::PermissionDenied)
    );
    for table_block in 0..DATA_START {
        assert_eq!(
            table.read_data(&mut disk, EnvId(1), table_block, &mut buffer),
            Err(Error::InvalidArgument),
            "the table region, credentials included, is the kernel's"
        );
    }
    disk.is_failing = true;
    assert_eq!(
        table.read_data(&mut disk, EnvId(1), block, &mut buffer),
        Err(Error::Unavailable)
    );
    assert_eq!(
        table.write_data(&mut disk, EnvId(1), block, &data),
        Err(Error::Unavailable)
    );
    assert!(
        !table.is_read_only(),
        "a data failure leaves the table in no doubt"
    );
}

#[test]
fn repossession_frees_the_block_and_keeps_its_data() {
    let (mut disk, mut table) = with_two_environments();
    let block = table.allocate(&mut disk, EnvId(1), None).unwrap();
    table
        .write_data(&mut disk, EnvId(1), block, &[0x11; BLOCK_SIZE_BYTES])
        .unwrap();
    assert_eq!(
        table.repossess(&mut disk, block),
        Ok(Repossession {
            principal: PrincipalId(0),
            environments: vec![EnvId(1)]
        })
    );
    assert_eq!(table.owner(block), Some(BlockOwner::Free));
    assert_eq!(
        disk.block(block)[0],
        0x11,
        "repossession does not touch data"
    );
    assert_eq!(table.repossess(&mut disk, block), Err(Error::NotFound));
    assert_eq!(table.repossess(&mut disk, 1), Err(Error::InvalidArgument));
    assert_eq!(
        table.repossess(&mut disk, DISK_BLOCKS),
        Err(Error::InvalidArgument)
    );
    assert_eq!(table.allocate(&mut disk, EnvId(2), None), Ok(block));
    assert_eq!(disk.block(block)[0], 0, "the next owner sees zeros");
    table.check_invariants().unwrap();
    table.check_against_disk(&mut disk).unwrap();
}

#[test]
fn repossession_from_an_unbound_principal_names_no_environment() {
    let (mut disk, mut table) = with_two_environments();
    let block = table.allocate(&mut disk, EnvId(2), None).unwrap();
    assert_eq!(table.release_environment(EnvId(2)), Some(PrincipalId(1)));
    assert_eq!(table.release_environment(EnvId(2)), None);
    assert_eq!(
        table.repossess(&mut disk, block),
        Ok(Repossession {
            principal: PrincipalId(1),
            environments: vec![]
        })
    );
}

#[test]
fn releasing_an_environment_keeps_its_blocks() {
    let (mut disk, mut table) = with_two_environments();
    let block = table.allocate(&mut disk, EnvId(1), None).unwrap();
    table.release_environment(EnvId(1));
    assert_eq!(
        table.owner(block),
        Some(BlockOwner::Principal(PrincipalId(0)))
    );
    assert_eq!(table.blocks_of(EnvId(1)), []);
    assert_eq!(table.count_owned_by(EnvId(1)), 0);
    assert_eq!(table.blocks_of_principal(PrincipalId(0)), [block]);
    assert_eq!(table.blocks_of_principal(PrincipalId(u32::MAX)), []);
    assert_eq!(table.environments_of(PrincipalId(u32::MAX)).count(), 0);
    table
        .present_credential(&mut disk, EnvId(3), credential(1))
        .unwrap();
    assert_eq!(table.blocks_of(EnvId(3)), [block]);
    table.check_invariants().unwrap();
}

#[test]
fn each_update_writes_the_older_copy_with_the_next_sequence_number() {
    let (mut disk, mut table) = with_two_environments();
    let layout = table.layout();
    let sequence_in = |disk: &MemoryDisk, slot| {
        let place = layout.copy_block(TableKind::Owners, 0, slot);
        disk_format::unseal(disk.block(place), TableKind::Owners, 0)
    };
    assert_eq!(
        (sequence_in(&disk, 0), sequence_in(&disk, 1)),
        (Some(1), Some(0))
    );
    table.allocate(&mut disk, EnvId(1), None).unwrap();
    assert_eq!(
        (sequence_in(&disk, 0), sequence_in(&disk, 1)),
        (Some(1), Some(2))
    );
    table.allocate(&mut disk, EnvId(1), None).unwrap();
    assert_eq!(
        (sequence_in(&disk, 0), sequence_in(&disk, 1)),
        (Some(3), Some(2))
    );
    let mut mounted = remount(&mut disk);
    mounted
        .present_credential(&mut disk, EnvId(1), credential(1))
        .unwrap();
    mounted.allocate(&mut disk, EnvId(1), None).unwrap();
    assert_eq!(
        (sequence_in(&disk, 0), sequence_in(&disk, 1)),
        (Some(3), Some(4))
    );
}

#[test]
fn a_torn_table_write_leaves_the_old_version_unless_every_change_landed() {
    // The allocation sets the owner entry of block 5 (bytes 52..56 of the copy, after the
    // 32-byte header) to 1, which changes byte 52 only; the copy it overwrites held the same
    // entries as the current version. So a landed prefix of 53 bytes is the whole new version.
    let complete_prefix = 32 + 4 * DATA_START as usize + 1;
    for torn_prefix_bytes in [0, 1, 24, 40, complete_prefix - 1, complete_prefix, 2048] {
        let (mut disk, mut table) = with_two_environments();
        disk.stop_after_writes(1, torn_prefix_bytes); // the zeroing lands, the record tears
        assert_eq!(
            table.allocate(&mut disk, EnvId(1), None),
            Err(Error::Unavailable)
        );
        let mut rebooted = disk.after_power_loss(UnflushedWrites::KeepAll);
        let expected = if torn_prefix_bytes < complete_prefix {
            BlockOwner::Free
        } else {
            BlockOwner::Principal(PrincipalId(0))
        };
        assert_eq!(remount(&mut rebooted).owner(DATA_START), Some(expected));
    }
}

#[test]
fn a_failed_table_write_makes_the_table_read_only() {
    let (mut disk, mut table) = with_two_environments();
    let kept = table.allocate(&mut disk, EnvId(2), None).unwrap();
    disk.stop_after_writes(1, 0);
    assert_eq!(
        table.allocate(&mut disk, EnvId(1), None),
        Err(Error::Unavailable)
    );
    assert!(table.is_read_only());
    assert_eq!(table.owner(DATA_START + 1), Some(BlockOwner::Free));
    table.check_invariants().unwrap();
    let mut healthy = disk.after_power_loss(UnflushedWrites::KeepAll);
    for result in [
        table.allocate(&mut healthy, EnvId(1), None),
        table.free(&mut healthy, EnvId(2), kept).map(|()| 0),
        table.repossess(&mut healthy, kept).map(|_| 0),
        table
            .present_credential(&mut healthy, EnvId(3), credential(3))
            .map(|_| 0),
    ] {
        assert_eq!(result, Err(Error::Unavailable));
    }
    assert_eq!(table.check_access(EnvId(2), kept), Ok(()));
    table.release_environment(EnvId(1));
    assert!(
        table
            .present_credential(&mut healthy, EnvId(1), credential(1))
            .is_ok(),
        "binding a known credential writes nothing"
    );
    let mounted = remount(&mut healthy);
    assert!(!mounted.is_read_only());
    assert_eq!(
        mounted.owner(kept),
        Some(BlockOwner::Principal(PrincipalId(1)))
    );
}

#[test]
fn a_failed_zeroing_changes_nothing() {
    let (mut disk, mut table) = with_two_environments();
    disk.is_failing = true;
    assert_eq!(
        table.allocate(&mut disk, EnvId(1), None),
        Err(Error::Unavailable)
    );
    assert!(!table.is_read_only());
    assert_eq!(
        table.present_credential(&mut disk, EnvId(3), credential(3)),
        Err(Error::Unavailable)
    );
    assert!(
        table.is_read_only(),
        "creating a principal writes the table"
    );
    assert_eq!(table.principal_of(EnvId(3)), None);
    table.check_invariants().unwrap();
    disk.is_failing = false;
    table.check_against_disk(&mut disk).unwrap();
}

#[test]
fn check_invariants_finds_damage() {
    let (mut disk, mut table) = with_two_environments();
    let block = table.allocate(&mut disk, EnvId(1), None).unwrap();
    table.check_invariants().unwrap();

    let mut wrong_count = remount(&mut disk);
    wrong_count.owned_block_counts[0] += 1;
    assert!(wrong_count.check_invariants().is_err());

    let mut unused_owner = remount(&mut disk);
    unused_owner.owner_entries[block as usize] = disk_format::owner_entry(Some(PrincipalId(9)));
    assert!(unused_owner.check_invariants().is_err());

    let mut owned_table_block = remount(&mut disk);
    owned_table_block.owner_entries[1] = disk_format::owner_entry(Some(PrincipalId(0)));
    assert!(owned_table_block.check_invariants().is_err());

    let mut one_way = remount(&mut disk);
    one_way.bindings.insert(EnvId(5), PrincipalId(0));
    assert!(one_way.check_invariants().is_err());

    let mut lost_credential = remount(&mut disk);
    lost_credential.principal_by_credential.clear();
    assert!(lost_credential.check_invariants().is_err());

    table.owner_entries[block as usize] = 0;
    assert!(table.check_against_disk(&mut disk).is_err());
}

#[test]
fn a_credential_is_never_printed() {
    let printed = format!("{:?}", credential(0xAB));
    assert!(!printed.contains("171") && !printed.to_lowercase().contains("ab"));
}
