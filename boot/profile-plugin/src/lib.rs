//! A QEMU TCG plugin (loaded with `-plugin`) that counts the guest instructions each
//! translation block executes inside one window of the guest's run, for `boot profile`.
//!
//! The window opens the first time the block at address `start` executes and closes the first
//! time, after that, the block at `stop` executes. At exit the plugin writes one line per block
//! that ran inside the window: its address (hex), its instruction count, how many times it ran,
//! and its first (up to eight) bytes of code in hex, so that the reader can tell which program
//! a user address belongs to. Arguments: `start=HEX,stop=HEX,out=PATH`.
//!
//! QEMU resolves the `qemu_plugin_*` functions from its own binary when it loads the plugin;
//! the API is that of QEMU 7.2 (plugin version 1), which Debian 12 packages.

use std::collections::HashMap;
use std::ffi::{CStr, c_char, c_int, c_uint, c_void};
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

type PluginId = u64;
type TranslationBlock = c_void;
type Instruction = c_void;

unsafe extern "C" {
    fn qemu_plugin_register_vcpu_tb_trans_cb(
        id: PluginId,
        callback: extern "C" fn(PluginId, *mut TranslationBlock),
    );
    fn qemu_plugin_register_vcpu_tb_exec_cb(
        block: *mut TranslationBlock,
        callback: extern "C" fn(c_uint, *mut c_void),
        flags: c_int,
        user_data: *mut c_void,
    );
    fn qemu_plugin_register_atexit_cb(
        id: PluginId,
        callback: extern "C" fn(PluginId, *mut c_void),
        user_data: *mut c_void,
    );
    fn qemu_plugin_tb_n_insns(block: *const TranslationBlock) -> usize;
    fn qemu_plugin_tb_vaddr(block: *const TranslationBlock) -> u64;
    fn qemu_plugin_tb_get_insn(block: *const TranslationBlock, index: usize) -> *mut Instruction;
    fn qemu_plugin_insn_data(instruction: *const Instruction) -> *const c_void;
    fn qemu_plugin_insn_size(instruction: *const Instruction) -> usize;
}

/// The plugin API version this plugin was written against.
#[unsafe(no_mangle)]
pub static qemu_plugin_version: c_int = 1;

/// `QEMU_PLUGIN_CB_NO_REGS`: the callback reads no guest register.
const NO_REGISTERS: c_int = 0;

/// One translated block, shared by every translation of the same code.
struct Block {
    address: u64,
    instructions: u64,
    first_bytes: [u8; 8],
    first_length: usize,
    executions: AtomicU64,
}

const WAITING: u8 = 0;
const COUNTING: u8 = 1;
const DONE: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(WAITING);
static START: AtomicU64 = AtomicU64::new(0);
static STOP: AtomicU64 = AtomicU64::new(0);
static OUTPUT: Mutex<String> = Mutex::new(String::new());
/// Every block by address, instruction count and first bytes; never freed (QEMU holds
/// pointers to them until it exits).
#[allow(clippy::type_complexity)]
static BLOCKS: Mutex<Option<HashMap<(u64, u64, [u8; 8], usize), &'static Block>>> =
    Mutex::new(None);

extern "C" fn on_execution(_cpu: c_uint, user_data: *mut c_void) {
    // SAFETY: `user_data` is the `&'static Block` `on_translation` registered with this
    // callback.
    let block = unsafe { &*(user_data as *const Block) };
    let state = STATE.load(Ordering::Relaxed);
    let state = if state == WAITING && block.address == START.load(Ordering::Relaxed) {
        STATE.store(COUNTING, Ordering::Relaxed);
        COUNTING
    } else if state == COUNTING && block.address == STOP.load(Ordering::Relaxed) {
        STATE.store(DONE, Ordering::Relaxed);
        DONE
    } else {
        state
    };
    if state == COUNTING {
        block.executions.fetch_add(1, Ordering::Relaxed);
    }
}

/// The first (up to) eight bytes of `block`'s code, and how many there are.
fn first_bytes(block: *mut TranslationBlock, instructions: usize) -> ([u8; 8], usize) {
    let mut bytes = [0; 8];
    let mut length = 0;
    for index in 0..instructions {
        // SAFETY: QEMU passes a valid block to the translation callback, and its instructions
        // and their bytes stay valid during it; `size` bytes are readable at `data`.
        let code = unsafe {
            let instruction = qemu_plugin_tb_get_insn(block, index);
            if instruction.is_null() {
                break;
            }
            let data = qemu_plugin_insn_data(instruction).cast::<u8>();
            if data.is_null() {
                break;
            }
            std::slice::from_raw_parts(data, qemu_plugin_insn_size(instruction))
        };
        let taken = code.len().min(bytes.len() - length);
        bytes[length..length + taken].copy_from_slice(&code[..taken]);
        length += taken;
        if length == bytes.len() {
            break;
        }
    }
    (bytes, length)
}

extern "C" fn on_translation(_id: PluginId, block: *mut TranslationBlock) {
    // SAFETY: QEMU passes a valid block to the translation callback.
    let (address, instructions) = unsafe {
        (
            qemu_plugin_tb_vaddr(block),
            qemu_plugin_tb_n_insns(block) as u64,
        )
    };
    let (bytes, length) = first_bytes(block, instructions as usize);
    let mut blocks = BLOCKS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let record = *blocks
        .get_or_insert_with(HashMap::new)
        .entry((address, instructions, bytes, length))
        .or_insert_with(|| {
            Box::leak(Box::new(Block {
                address,
                instructions,
                first_bytes: bytes,
                first_length: length,
                executions: AtomicU64::new(0),
            }))
        });
    // SAFETY: `block` is valid during this callback; `record` lives until QEMU exits.
    unsafe {
        qemu_plugin_register_vcpu_tb_exec_cb(
            block,
            on_execution,
            NO_REGISTERS,
            record as *const Block as *mut c_void,
        );
    }
}

extern "C" fn on_exit(_id: PluginId, _user_data: *mut c_void) {
    let path = OUTPUT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    let blocks = BLOCKS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut text = String::new();
    for block in blocks.iter().flat_map(|blocks| blocks.values()) {
        let executions = block.executions.load(Ordering::Relaxed);
        if executions > 0 {
            let bytes: String = block.first_bytes[..block.first_length]
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect();
            text.push_str(&format!(
                "{:x} {} {executions} {bytes}\n",
                block.address, block.instructions
            ));
        }
    }
    let written = std::fs::File::create(&path).and_then(|mut file| file.write_all(text.as_bytes()));
    if let Err(error) = written {
        eprintln!("profile plugin: cannot write {path}: {error}");
    }
}

/// Reads `start=`, `stop=` and `out=` from the arguments and registers the callbacks.
///
/// # Safety
///
/// QEMU calls this once, with `argc` valid C strings at `argv`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qemu_plugin_install(
    id: PluginId,
    _info: *const c_void,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    for index in 0..usize::try_from(argc).unwrap_or(0) {
        // SAFETY: QEMU passes `argc` valid C strings.
        let argument = unsafe { CStr::from_ptr(*argv.add(index)) }.to_string_lossy();
        let Some((key, value)) = argument.split_once('=') else {
            continue;
        };
        let address = u64::from_str_radix(value.trim_start_matches("0x"), 16);
        match (key, address) {
            ("start", Ok(address)) => START.store(address, Ordering::Relaxed),
            ("stop", Ok(address)) => STOP.store(address, Ordering::Relaxed),
            ("out", _) => {
                *OUTPUT
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = value.to_owned();
            }
            _ => {
                eprintln!("profile plugin: unknown argument {argument}");
                return 1;
            }
        }
    }
    // SAFETY: registering callbacks with the id QEMU gave this plugin.
    unsafe {
        qemu_plugin_register_vcpu_tb_trans_cb(id, on_translation);
        qemu_plugin_register_atexit_cb(id, on_exit, std::ptr::null_mut());
    }
    0
}
