//! Fault-containment fixture for custom AMP conditions: a condition named
//! `fault` whose `validate` and `evaluate` trap on the value "trap", loop
//! forever on "spin" and allocate without bound on "hog"; `evaluate` alone
//! faults the same way on "evaluate:trap", "evaluate:spin", "evaluate:hog".
//! Any other value is valid, and met when it equals the message body.

use wasmpp_guest_sdk::{AmpCondition, ConditionInfo, Disposition, MessageInfo};

/// Faults on demand.
pub struct FaultCondition;

const MIB: usize = 1 << 20;

impl AmpCondition for FaultCondition {
    fn declare() -> ConditionInfo {
        ConditionInfo { name: "fault".to_owned(), presence_safe: false, per_hop: false }
    }

    fn validate(value: &str) -> bool {
        fault_on(value);
        true
    }

    fn evaluate(value: &str, message: &MessageInfo, _disposition: &Disposition) -> bool {
        fault_on(value.strip_prefix("evaluate:").unwrap_or(value));
        message.body.as_deref() == Some(value)
    }
}

fn fault_on(value: &str) {
    match value {
        // panic = "abort" in the guest profile: this is an `unreachable` trap.
        "trap" => panic!("fault condition asked to trap"),
        "spin" => spin(),
        "hog" => hog(),
        _ => {}
    }
}

/// An infinite loop the optimiser may not remove.
fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

/// Keeps 1 MiB blocks alive until `memory.grow` is refused.
fn hog() -> ! {
    let mut kept: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; MIB];
        for i in (0..MIB).step_by(4096) {
            block[i] = kept.len() as u8;
        }
        kept.push(std::hint::black_box(block));
    }
}

wasmpp_guest_sdk::export_condition!(FaultCondition);
