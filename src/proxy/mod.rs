//! The intercepting proxy: the only module that knows hudsucker (to be written).
