//! Errors of the numerical core. Each names what was wrong, the value, and what is allowed,
//! so the CLI can print it as is (ripgrep style: tell the user what to do).

use std::fmt;

/// Where a bad value came from: a file (with optional line) or an in-memory input.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    /// File path, if the value came from a file.
    pub file: Option<String>,
    /// 1-based line or CSV row, if known.
    pub line: Option<usize>,
}

impl Origin {
    /// Origin for a whole file.
    pub fn file(path: impl Into<String>) -> Self {
        Origin { file: Some(path.into()), line: None }
    }
    /// Origin for one line/row of a file.
    pub fn line(path: impl Into<String>, line: usize) -> Self {
        Origin { file: Some(path.into()), line: Some(line) }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(p), Some(l)) => write!(f, "{p}:{l}: "),
            (Some(p), None) => write!(f, "{p}: "),
            (None, Some(l)) => write!(f, "row {l}: "),
            (None, None) => Ok(()),
        }
    }
}

/// The error type of colaw's library modules.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A field holds a value outside what is allowed.
    #[error("{origin}field `{field}` = {value}: {allowed}")]
    Invalid {
        /// Where the value came from.
        origin: Origin,
        /// Field name as the user wrote it.
        field: String,
        /// The offending value, rendered.
        value: String,
        /// What is allowed instead.
        allowed: String,
    },
    /// A required field is absent.
    #[error("{origin}missing required field `{field}`{hint}")]
    Missing {
        /// Where it was expected.
        origin: Origin,
        /// The field name.
        field: String,
        /// Extra advice, starting with "; " or empty.
        hint: String,
    },
    /// A file could not be parsed at all.
    #[error("{origin}{message}")]
    Parse {
        /// The file.
        origin: Origin,
        /// Parser message.
        message: String,
    },
    /// A name that resolves to nothing (preset, hardware, law).
    #[error("unknown {kind} `{name}`: {hint}")]
    Unknown {
        /// What kind of thing ("architecture", "hardware", "law").
        kind: String,
        /// The name given.
        name: String,
        /// What exists / what to do.
        hint: String,
    },
    /// The model cannot evaluate this input (e.g. a compute type the device has no figure for).
    #[error("{0}")]
    Unsupported(String),
    /// An output another process is writing (its lock is held).
    #[error("{path}: {message}")]
    InUse {
        /// The output (results file, journal folder).
        path: String,
        /// Who holds it and what to do.
        message: String,
    },
    /// I/O failure with the path.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(
        origin: &Origin,
        field: impl Into<String>,
        value: impl fmt::Display,
        allowed: impl Into<String>,
    ) -> Self {
        Error::Invalid {
            origin: origin.clone(),
            field: field.into(),
            value: value.to_string(),
            allowed: allowed.into(),
        }
    }
    /// Shorthand for [`Error::Missing`].
    pub fn missing(origin: &Origin, field: impl Into<String>, hint: impl Into<String>) -> Self {
        let hint = hint.into();
        Error::Missing {
            origin: origin.clone(),
            field: field.into(),
            hint: if hint.is_empty() { hint } else { format!("; {hint}") },
        }
    }
    /// Attach a file to an error that was raised without one.
    pub fn in_file(mut self, path: &str) -> Self {
        match &mut self {
            Error::Invalid { origin, .. } | Error::Missing { origin, .. } | Error::Parse { origin, .. }
                if origin.file.is_none() =>
            {
                origin.file = Some(path.to_string());
            }
            _ => {}
        }
        self
    }
}

/// Result alias for the library.
pub type Result<T> = std::result::Result<T, Error>;

/// Read a file to a string, mapping the I/O error to one that names the path.
pub fn read_file(path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.display().to_string(), source })
}
