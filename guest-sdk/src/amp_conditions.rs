//! Custom XEP-0079 conditions the host loaded from `amp-condition`
//! components; the `amp` plugin asks them through these calls. Each needs
//! [`Capability::AmpConditions`](crate::Capability::AmpConditions).

use crate::host::amp_conditions as wit;
use crate::types::{ConditionInfo, Denied, Disposition};

/// Every loaded custom condition's declaration.
pub fn declared() -> Result<Vec<ConditionInfo>, Denied> {
    wit::declared()
}

/// Whether `value` is well-formed for the custom condition `name`.
pub fn validate(name: &str, value: &str) -> Result<bool, Denied> {
    wit::validate(name, value)
}

/// Whether the custom condition `name` with `value` is met by the current
/// message, given its default disposition.
pub fn evaluate(name: &str, value: &str, disposition: &Disposition) -> Result<bool, Denied> {
    wit::evaluate(name, value, disposition)
}
