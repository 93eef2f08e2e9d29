//! Custom XEP-0079 conditions the host loaded from `amp-condition`
//! components; the `amp` plugin asks them through these calls.

use crate::__bindings::xmpp::sm::amp_conditions as wit;
use crate::types::{ConditionInfo, Disposition};

/// Every loaded custom condition's declaration.
pub fn declared() -> Vec<ConditionInfo> {
    wit::declared()
}

/// Whether `value` is well-formed for the custom condition `name`.
pub fn validate(name: &str, value: &str) -> bool {
    wit::validate(name, value)
}

/// Whether the custom condition `name` with `value` is met by the current
/// message, given its default disposition.
pub fn evaluate(name: &str, value: &str, disposition: &Disposition) -> bool {
    wit::evaluate(name, value, disposition)
}
