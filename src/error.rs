//! The one error type of the core. Every fallible call returns `Result<T, Error>`;
//! across the `cxx` bridge it becomes a C++ exception that the pair style turns
//! into a LAMMPS `ERROR` line.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The model file is missing, is not a DeePMD-kit model, or asks for
    /// something this plugin cannot run.
    Model(String),
    /// A user input (pair_style / pair_coeff arguments, units, box) is wrong.
    Input(String),
    /// Reading or writing a file failed.
    Io(String),
    /// libtorch failed while evaluating a model that loaded fine.
    Torch(String),
    /// A broken invariant inside the plugin: a bug, reported instead of a panic.
    Internal(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Model(m) => write!(f, "model: {m}"),
            Error::Input(m) => write!(f, "{m}"),
            Error::Io(m) => write!(f, "I/O: {m}"),
            Error::Torch(m) => write!(f, "libtorch: {m}"),
            Error::Internal(m) => write!(f, "internal error (please report): {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<tch::TchError> for Error {
    fn from(e: tch::TchError) -> Self {
        // libtorch messages carry a long C++ backtrace; the first lines say what went wrong.
        let text = e.to_string();
        let short: Vec<&str> = text.lines().take(4).collect();
        Error::Torch(short.join(" | "))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}
