//! Crash and property tests: random sequences of operations, with the power cut at every write
//! (cleanly or tearing the write, keeping or losing unflushed writes), then a mount that must
//! recover exactly the state before or after the operation in progress; and a model the table
//! must agree with after every operation.

use super::memory_disk::{MemoryDisk, UnflushedWrites};
use super::*;
use alloc::collections::{BTreeMap, BTreeSet};
use proptest::prelude::*;

/// Blocks on the test disk: superblock, one principal and one owner table block (two copies
/// each), then data blocks 5 to 23.
const DISK_BLOCKS: u64 = 24;
const DATA_START: u64 = 5;
/// What every block holds before the table is formatted: a previous user's data.
const OLD_DATA: u8 = 0xEE;
/// Block numbers the operations name: table blocks and one beyond the disk included.
const NAMED_BLOCKS: u64 = DISK_BLOCKS + 1;
/// Environments 1 to 4 and credentials 1 to 4, so that environments share principals and
/// rebind.
const ENVIRONMENTS: u32 = 4;
const CREDENTIALS: u8 = 4;

#[derive(Clone, Debug)]
enum Operation {
    Present {
        environment: u32,
        credential: u8,
    },
    Release {
        environment: u32,
    },
    AllocateNamed {
        environment: u32,
        block: u64,
    },
    AllocateAny {
        environment: u32,
    },
    Free {
        environment: u32,
        block: u64,
    },
    /// Fills the block with the credential number of the writer, which is never 0 or
    /// [`OLD_DATA`], so that a block shown to the wrong principal is noticed.
    WriteData {
        environment: u32,
        block: u64,
    },
    Repossess {
        block: u64,
    },
    /// A clean reboot: everything flushed, bindings gone.
    Reboot,
}

/// The durable part of a table: principals and owner entries.
type Snapshot = (Vec<Option<Credential>>, Vec<u32>);

fn snapshot(table: &BlockTable) -> Snapshot {
    (table.principals.clone(), table.owner_entries.clone())
}

fn credential_of(table: &BlockTable, environment: EnvId) -> Option<Credential> {
    let principal = table.principal_of(environment)?;
    table.principals[principal.0 as usize]
}

fn apply(
    table: &mut BlockTable,
    disk: &mut MemoryDisk,
    operation: &Operation,
) -> Result<u64, Error> {
    match *operation {
        Operation::Present {
            environment,
            credential,
        } => table
            .present_credential(disk, EnvId(environment), Credential([credential; 16]))
            .map(|presentation| u64::from(presentation.principal.0)),
        Operation::Release { environment } => {
            table.release_environment(EnvId(environment));
            Ok(0)
        }
        Operation::AllocateNamed { environment, block } => {
            table.allocate(disk, EnvId(environment), Some(block))
        }
        Operation::AllocateAny { environment } => table.allocate(disk, EnvId(environment), None),
        Operation::Free { environment, block } => {
            table.free(disk, EnvId(environment), block).map(|()| 0)
        }
        Operation::WriteData { environment, block } => {
            let tag =
                credential_of(table, EnvId(environment)).map_or(1, |credential| credential.0[0]);
            let data = [tag; BLOCK_SIZE_BYTES];
            table
                .write_data(disk, EnvId(environment), block, &data)
                .map(|()| 0)
        }
        Operation::Repossess { block } => table.repossess(disk, block).map(|_| 0),
        Operation::Reboot => {
            *table = BlockTable::mount(disk).map_err(|_| Error::Unavailable)?;
            Ok(0)
        }
    }
}

/// A run of a scenario without a crash: the durable state after the format and after each
/// operation, and the machine before each operation, so that a crash inside an operation is
/// replayed from there instead of from the start.
struct Reference {
    snapshots: Vec<Snapshot>,
    /// The disk and table before each operation.
    checkpoints: Vec<(MemoryDisk, BlockTable)>,
    /// Writes done by the format, then after each operation.
    writes_done: Vec<u64>,
}

fn fresh_disk() -> MemoryDisk {
    MemoryDisk::new(DISK_BLOCKS, OLD_DATA)
}

fn reference_run(operations: &[Operation]) -> Reference {
    let mut disk = fresh_disk();
    let mut table = BlockTable::format_with(&mut disk, 1).unwrap();
    let mut reference = Reference {
        snapshots: vec![snapshot(&table)],
        checkpoints: Vec::new(),
        writes_done: vec![disk.writes_done],
    };
    for operation in operations {
        reference.checkpoints.push((disk.clone(), table.clone()));
        let _ = apply(&mut table, &mut disk, operation);
        table.check_invariants().unwrap();
        reference.snapshots.push(snapshot(&table));
        reference.writes_done.push(disk.writes_done);
    }
    reference
}

/// Formats a fresh disk, the power going after `writes` writes.
fn crash_during_format(writes: u64, torn_prefix_bytes: usize) -> MemoryDisk {
    let mut disk = fresh_disk();
    disk.stop_after_writes(writes, torn_prefix_bytes);
    assert!(BlockTable::format_with(&mut disk, 1).is_err());
    disk
}

/// Replays operation `index` from its checkpoint, the power going after `writes` of its writes.
fn crash_during_operation(
    reference: &Reference,
    operation: &Operation,
    index: usize,
    writes: u64,
    torn_prefix_bytes: usize,
) -> MemoryDisk {
    let (disk, table) = &reference.checkpoints[index];
    let (mut disk, mut table) = (disk.clone(), table.clone());
    disk.stop_after_writes(writes, torn_prefix_bytes);
    let _ = apply(&mut table, &mut disk, operation);
    assert!(
        disk.has_stopped(),
        "operation {index} did not reach its write {writes}"
    );
    disk
}

/// Mounts the disk a power loss left and checks it: the table is consistent; its durable state
/// is `before` or `after` (the operation in progress is wholly done or not at all; `before` is
/// `None` when the format was in progress, and then the disk may also read as unformatted);
/// every owned block holds only zeros or its owner's data; every credential gives its blocks
/// back.
fn check_recovery(disk: &mut MemoryDisk, before: Option<&Snapshot>, after: &Snapshot) {
    let mut table = match BlockTable::mount(disk) {
        Ok(table) => table,
        Err(MountError::NotFormatted) if before.is_none() => return,
        Err(error) => panic!("mount failed after a crash: {error:?}"),
    };
    table.check_invariants().unwrap();
    let recovered = snapshot(&table);
    assert!(
        Some(&recovered) == before || recovered == *after,
        "the recovered table is neither the state before nor after the interrupted operation"
    );
    check_no_data_leaks(&table, disk);
    check_credentials_give_blocks_back(&mut table, disk);
}

fn check_no_data_leaks(table: &BlockTable, disk: &MemoryDisk) {
    for block in DATA_START..DISK_BLOCKS {
        let Some(BlockOwner::Principal(owner)) = table.owner(block) else {
            continue;
        };
        let tag = table.principals[owner.0 as usize].unwrap().0[0];
        assert!(
            disk.block(block)
                .iter()
                .all(|&byte| byte == 0 || byte == tag),
            "block {block} shows {owner:?} data it did not write"
        );
    }
}

fn check_credentials_give_blocks_back(table: &mut BlockTable, disk: &mut MemoryDisk) {
    let principals: Vec<(usize, Credential)> = table
        .principals
        .iter()
        .enumerate()
        .filter_map(|(index, principal)| principal.map(|credential| (index, credential)))
        .collect();
    for (index, credential) in principals {
        let environment = EnvId(1000 + index as u32);
        let presentation = table
            .present_credential(disk, environment, credential)
            .unwrap();
        assert!(!presentation.is_new);
        assert_eq!(
            table.blocks_of(environment),
            table.blocks_of_principal(PrincipalId(index as u32))
        );
    }
}

/// A tear that lands the new header of a table block copy, checksum included, over the old
/// payload.
const HEADER_TEAR_BYTES: usize = 28;

/// Cuts the power at every write from `first_cut` on: cleanly, tearing the write after its
/// header, and tearing it after `torn_prefix_bytes` bytes. Checks the recovery of each cut with
/// unflushed writes kept, lost, and kept out of order. Returns how many crashes were checked.
fn crash_at_every_point(
    operations: &[Operation],
    first_cut: u64,
    torn_prefix_bytes: usize,
) -> usize {
    let reference = reference_run(operations);
    let mut crashes = 0;
    let total_writes = *reference.writes_done.last().unwrap();
    for cut in first_cut..total_writes {
        // The operation in progress at write `cut`: the format when `cut` comes before the
        // format's last write, else the first operation whose writes reach past `cut`.
        let in_progress = reference
            .writes_done
            .iter()
            .position(|&done| done > cut)
            .unwrap();
        let before = in_progress
            .checked_sub(1)
            .map(|last| &reference.snapshots[last]);
        let after = &reference.snapshots[in_progress];
        for torn in [0, HEADER_TEAR_BYTES, torn_prefix_bytes] {
            let crashed = match in_progress.checked_sub(1) {
                None => crash_during_format(cut, torn),
                Some(index) => {
                    let writes = cut - reference.writes_done[index];
                    crash_during_operation(&reference, &operations[index], index, writes, torn)
                }
            };
            for survivors in [
                UnflushedWrites::KeepAll,
                UnflushedWrites::DropAll,
                UnflushedWrites::KeepOnlyLast,
            ] {
                check_recovery(&mut crashed.after_power_loss(survivors), before, after);
                crashes += 1;
            }
        }
    }
    crashes
}

/// A small deterministic generator (xorshift64), so that the crash test is the same every run.
struct Generator(u64);

impl Generator {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

/// A torn prefix that ends inside the records a table update changes: on this small disk they
/// all lie in the first 160 bytes of a copy (a longer prefix lands the whole change).
fn tear_inside_the_records(seed: u64) -> usize {
    32 + (seed as usize * 37) % 128
}

fn random_operations(seed: u64, count: usize) -> Vec<Operation> {
    let mut generator = Generator(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut operations = Vec::new();
    for _ in 0..count {
        let environment = 1 + generator.below(u64::from(ENVIRONMENTS)) as u32;
        let credential = 1 + generator.below(u64::from(CREDENTIALS)) as u8;
        let block = generator.below(NAMED_BLOCKS);
        let operation = match generator.below(20) {
            0..=3 => Operation::Present {
                environment,
                credential,
            },
            4..=7 => Operation::AllocateAny { environment },
            8..=10 => Operation::AllocateNamed { environment, block },
            11..=13 => Operation::Free { environment, block },
            14..=16 => Operation::WriteData { environment, block },
            17 => Operation::Repossess { block },
            18 => Operation::Release { environment },
            _ => Operation::Reboot,
        };
        operations.push(operation);
    }
    operations
}

/// Ten fixed sequences of 70 operations, the power cut at each of their writes (about 260), in
/// three tears and three fates of the unflushed writes: over 2,000 recoveries.
#[test]
fn a_crash_at_any_write_leaves_a_consistent_table() {
    let mut crashes = 0;
    for seed in 1..=10 {
        let operations = random_operations(seed, 70);
        crashes += crash_at_every_point(&operations, 0, tear_inside_the_records(seed));
    }
    assert!(crashes >= 2000, "only {crashes} crashes checked");
}

#[test]
fn a_crash_while_a_principal_is_forgotten_leaves_a_consistent_table() {
    // Fill the principal table with principals that own nothing, give one a block, and let a
    // new credential take a forgotten principal's record.
    let mut operations = Vec::new();
    for number in 1..=PRINCIPALS_PER_TABLE_BLOCK as u8 {
        operations.push(Operation::Present {
            environment: u32::from(number),
            credential: number,
        });
        if number == 1 {
            operations.push(Operation::AllocateAny { environment: 1 });
        }
        operations.push(Operation::Release {
            environment: u32::from(number),
        });
    }
    let setup_writes = *reference_run(&operations).writes_done.last().unwrap();
    operations.extend([
        Operation::Present {
            environment: 200,
            credential: 200,
        },
        Operation::AllocateAny { environment: 200 },
        Operation::WriteData {
            environment: 200,
            block: DATA_START + 1,
        },
        Operation::Present {
            environment: 201,
            credential: 201,
        },
        Operation::Present {
            environment: 1,
            credential: 1,
        },
        Operation::Free {
            environment: 1,
            block: DATA_START,
        },
    ]);
    let crashes = crash_at_every_point(&operations, setup_writes, 100);
    assert!(crashes >= 3 * 3 * 4);
}

fn operation() -> impl Strategy<Value = Operation> {
    let environment = 1..=ENVIRONMENTS;
    let block = 0..NAMED_BLOCKS;
    prop_oneof![
        4 => (environment.clone(), 1..=CREDENTIALS).prop_map(|(environment, credential)| {
            Operation::Present { environment, credential }
        }),
        4 => environment.clone().prop_map(|environment| Operation::AllocateAny { environment }),
        3 => (environment.clone(), block.clone())
            .prop_map(|(environment, block)| Operation::AllocateNamed { environment, block }),
        3 => (environment.clone(), block.clone())
            .prop_map(|(environment, block)| Operation::Free { environment, block }),
        2 => (environment.clone(), block.clone())
            .prop_map(|(environment, block)| Operation::WriteData { environment, block }),
        1 => block.prop_map(|block| Operation::Repossess { block }),
        1 => environment.prop_map(|environment| Operation::Release { environment }),
        1 => Just(Operation::Reboot),
    ]
}

/// What the table must answer, kept the simplest way: owners by credential number.
#[derive(Default)]
struct Model {
    owners: BTreeMap<u64, u8>,
    known: BTreeSet<u8>,
    bindings: BTreeMap<u32, u8>,
}

impl Model {
    fn is_data_block(block: u64) -> bool {
        (DATA_START..DISK_BLOCKS).contains(&block)
    }

    fn present(&mut self, environment: u32, credential: u8) -> Result<(), Error> {
        match self.bindings.get(&environment) {
            Some(&bound) if bound == credential => return Ok(()),
            Some(_) => return Err(Error::InvalidArgument),
            None => {}
        }
        self.known.insert(credential);
        self.bindings.insert(environment, credential);
        Ok(())
    }

    fn access(&self, environment: u32, block: u64) -> Result<u8, Error> {
        let credential = *self
            .bindings
            .get(&environment)
            .ok_or(Error::PermissionDenied)?;
        if !Model::is_data_block(block) {
            return Err(Error::InvalidArgument);
        }
        if self.owners.get(&block) != Some(&credential) {
            return Err(Error::PermissionDenied);
        }
        Ok(credential)
    }

    fn allocate(&mut self, environment: u32, request: Option<u64>) -> Result<u64, Error> {
        let credential = *self
            .bindings
            .get(&environment)
            .ok_or(Error::PermissionDenied)?;
        let block = match request {
            Some(block) if !Model::is_data_block(block) => return Err(Error::InvalidArgument),
            Some(block) if self.owners.contains_key(&block) => return Err(Error::Occupied),
            Some(block) => block,
            None => (DATA_START..DISK_BLOCKS)
                .find(|block| !self.owners.contains_key(block))
                .ok_or(Error::NoMemory)?,
        };
        self.owners.insert(block, credential);
        Ok(block)
    }

    /// The result `operation` must have, applying it to the model.
    fn apply(&mut self, operation: &Operation) -> Result<u64, Error> {
        match *operation {
            Operation::Present {
                environment,
                credential,
            } => self.present(environment, credential).map(|()| 0),
            Operation::Release { environment } => {
                self.bindings.remove(&environment);
                Ok(0)
            }
            Operation::AllocateNamed { environment, block } => {
                self.allocate(environment, Some(block))
            }
            Operation::AllocateAny { environment } => self.allocate(environment, None),
            Operation::Free { environment, block } => {
                self.access(environment, block)?;
                self.owners.remove(&block);
                Ok(0)
            }
            Operation::WriteData { environment, block } => {
                self.access(environment, block).map(|_| 0)
            }
            Operation::Repossess { block } if !Model::is_data_block(block) => {
                Err(Error::InvalidArgument)
            }
            Operation::Repossess { block } => {
                self.owners.remove(&block).map(|_| 0).ok_or(Error::NotFound)
            }
            Operation::Reboot => {
                self.bindings.clear();
                Ok(0)
            }
        }
    }
}

/// The table's answer in the model's terms: principal numbers are not compared, only whether
/// the call succeeded and which block it gave.
fn comparable(operation: &Operation, result: Result<u64, Error>) -> Result<u64, Error> {
    match operation {
        Operation::AllocateAny { .. } | Operation::AllocateNamed { .. } => result,
        _ => result.map(|_| 0),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every operation gives the answer the model gives, the table stays consistent, and what
    /// is on the disk is always what the table holds in memory.
    #[test]
    fn the_table_agrees_with_a_model(operations in proptest::collection::vec(operation(), 0..80)) {
        let mut disk = MemoryDisk::new(DISK_BLOCKS, OLD_DATA);
        let mut table = BlockTable::format_with(&mut disk, 1).unwrap();
        let mut model = Model::default();
        for operation in &operations {
            let result = apply(&mut table, &mut disk, operation);
            let expected = model.apply(operation);
            prop_assert_eq!(comparable(operation, result), expected, "{:?}", operation);
            table.check_invariants().map_err(TestCaseError::fail)?;
            for block in 0..NAMED_BLOCKS {
                let owner = model.owners.get(&block).map(|&number| Credential([number; 16]));
                let principal = match table.owner(block) {
                    Some(BlockOwner::Principal(principal)) => Some(principal),
                    _ => None,
                };
                let credential =
                    principal.and_then(|principal| table.principals[principal.0 as usize]);
                prop_assert_eq!(credential, owner);
            }
        }
        table.check_against_disk(&mut disk).map_err(TestCaseError::fail)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random operation sequences survive a crash at every write.
    #[test]
    fn random_operations_survive_a_crash_at_every_write(
        operations in proptest::collection::vec(operation(), 0..32),
        torn_prefix_bytes in 1..160usize,
    ) {
        crash_at_every_point(&operations, 0, torn_prefix_bytes);
    }
}
