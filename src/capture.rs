//! Pure: request/response parts and bounded bodies → Record (to be written).
