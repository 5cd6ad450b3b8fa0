//! The local certificate authority (to be written).
