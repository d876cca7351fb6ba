//! Running external commands: echo them, fail with the command line in the error, optionally capture.

use anyhow::{Context, Result, bail};
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

/// A command line to run, printed before it runs.
pub(crate) struct Cmd {
    inner: Command,
}

impl Cmd {
    pub(crate) fn new(program: impl AsRef<OsStr>) -> Cmd {
        Cmd {
            inner: Command::new(program),
        }
    }

    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Cmd {
        self.inner.arg(arg);
        self
    }

    pub(crate) fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Cmd {
        self.inner.args(args);
        self
    }

    pub(crate) fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Cmd {
        self.inner.env(key, value);
        self
    }

    pub(crate) fn dir(mut self, dir: &Path) -> Cmd {
        self.inner.current_dir(dir);
        self
    }

    fn describe(&self) -> String {
        let mut line = self.inner.get_program().to_string_lossy().into_owned();
        for arg in self.inner.get_args() {
            line.push(' ');
            line.push_str(&arg.to_string_lossy());
        }
        line
    }

    /// Runs with inherited output; fails unless it exits 0.
    pub(crate) fn run(mut self) -> Result<()> {
        let line = self.describe();
        println!("$ {line}");
        let status = self
            .inner
            .status()
            .with_context(|| format!("cannot run `{line}`"))?;
        if !status.success() {
            bail!("`{line}` failed ({status})");
        }
        Ok(())
    }

    /// Runs, streaming stdout and stderr to ours while keeping a copy; fails unless it exits 0.
    /// The copy is returned in both cases so callers can read test counts from it.
    pub(crate) fn run_teed(mut self) -> (Result<()>, String) {
        let line = self.describe();
        println!("$ {line}");
        // Merge stderr into the same pipe so the copy is in the order it was printed.
        let (reader, writer) = match std::io::pipe() {
            Ok(pipe) => pipe,
            Err(e) => return (Err(e).context("cannot create a pipe"), String::new()),
        };
        let writer_clone = match writer.try_clone() {
            Ok(w) => w,
            Err(e) => return (Err(e).context("cannot clone a pipe"), String::new()),
        };
        self.inner
            .stdout(Stdio::from(writer))
            .stderr(Stdio::from(writer_clone));
        let mut child = match self.inner.spawn() {
            Ok(child) => child,
            Err(e) => {
                return (
                    Err(e).context(format!("cannot run `{line}`")),
                    String::new(),
                );
            }
        };
        // The command object still holds the pipe's write ends; drop them so reading ends at exit.
        drop(self);
        let mut copy = String::new();
        let stdout = std::io::stdout();
        for text in BufReader::new(reader).lines().map_while(Result::ok) {
            let mut out = stdout.lock();
            let _ = writeln!(out, "{text}");
            copy.push_str(&text);
            copy.push('\n');
        }
        match child.wait() {
            Ok(status) if status.success() => (Ok(()), copy),
            Ok(status) => (Err(anyhow::anyhow!("`{line}` failed ({status})")), copy),
            Err(e) => (Err(e).context(format!("cannot wait for `{line}`")), copy),
        }
    }

    /// Runs quietly and returns stdout, or `None` when the program is missing or fails.
    pub(crate) fn read(mut self) -> Option<String> {
        let output = self.inner.stderr(Stdio::null()).output().ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }
}
