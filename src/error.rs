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
        Error::Torch(torch_message(&e.to_string()))
    }
}

/// libtorch messages carry a C++ backtrace, and TorchScript errors a traceback of the
/// serialized model before the cause; keep the cause (the last "...Error: " line of the
/// traceback) or else the first lines.
fn torch_message(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if let Some(pos) = lines.iter().rposition(|l| l.split_once(": ").is_some_and(|(head, _)| head.ends_with("Error"))) {
        let cause = lines[pos].split_once(": ").map_or(lines[pos], |(_, m)| m);
        return cause.to_string();
    }
    lines.iter().take(3).copied().collect::<Vec<_>>().join(" | ")
}

#[cfg(test)]
mod tests {
    use super::torch_message;

    #[test]
    fn torchscript_errors_keep_the_cause() {
        let text = "The following operation failed in the TorchScript interpreter.\n\
                    Traceback of TorchScript, serialized code (most recent call last):\n  \
                    File \"code/x.py\", line 9, in forward\n    y = ops.deepmd.f(x)\n\n\
                    RuntimeError: this model is compressed; use the uncompressed model\n";
        assert_eq!(torch_message(text), "this model is compressed; use the uncompressed model");
        assert_eq!(torch_message("plain failure\nmore\nmore\nignored"), "plain failure | more | more");
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}
