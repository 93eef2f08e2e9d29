//! The plugin author's toolkit behind `wasmpp plugin …`: [`new`] makes a
//! plugin crate from the templates in `template/`. (`plugin check` is the
//! server's own load path, in `plugin/check.rs`.)

pub mod new;
