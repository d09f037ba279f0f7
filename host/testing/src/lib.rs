//! Starts `vox up` for tests: it listens on `127.0.0.1:0` and the port it picked is read back
//! from the banner it prints, so no port is reserved and released ahead of time. `spin up`
//! prints the same banner, so the same launcher starts it too ([`Launch::new`]).

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long `vox up` may take to print its banner: a cold start compiles every component,
/// pre-initialised ones of hundreds of megabytes included.
const START_TIMEOUT: Duration = Duration::from_secs(300);

/// The workspace root (where `spin.toml` and `target/` live): the nearest folder holding
/// `Cargo.lock` above the package whose test runs. Found when the test runs, not when this
/// crate is compiled: a shared target folder may hold this crate compiled in another checkout.
pub fn workspace_root() -> PathBuf {
    let package = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .expect("cargo runs tests in their package, with CARGO_MANIFEST_DIR set");
    package
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .expect("the test's package sits in the workspace")
        .to_path_buf()
}

/// A `vox up` command being put together; [`Launch::start`] runs it.
pub struct Launch {
    command: Command,
    stderr_path: Option<PathBuf>,
    own_group: bool,
}

impl Launch {
    /// Any command that serves a Spin app and prints Spin's banner ("Serving http://…") on
    /// stdout: `spin up` itself, for tests that compare it with `vox up`.
    pub fn new(command: Command) -> Launch {
        Launch {
            command,
            stderr_path: None,
            own_group: false,
        }
    }

    /// Starts the server in a process group of its own and stops the whole group, for a
    /// server that runs the app in child processes (`spin up` runs `spin trigger http`,
    /// which outlives a killed parent).
    pub fn own_process_group(mut self) -> Self {
        use std::os::unix::process::CommandExt;
        self.command.process_group(0);
        self.own_group = true;
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.command.args(args);
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.command.env_remove(key);
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.command.current_dir(dir);
        self
    }

    /// Sends vox's stderr (its log) to a file, read by [`Vox::stderr`]; by default it is
    /// this process's stderr.
    pub fn stderr_to(mut self, path: impl Into<PathBuf>) -> Self {
        self.stderr_path = Some(path.into());
        self
    }

    /// Starts vox and waits for its banner; panics with its log if it does not come.
    pub fn start(mut self) -> Vox {
        let stderr = match &self.stderr_path {
            Some(path) => Stdio::from(std::fs::File::create(path).expect("create vox's log")),
            None => Stdio::inherit(),
        };
        let mut child = self
            .command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn the server");
        let banner = read_banner(&mut child);
        let serving = banner
            .lines()
            .find_map(|l| l.strip_prefix("Serving http://"));
        let Some(addr) = serving else {
            let _ = child.kill();
            let log = match &self.stderr_path {
                Some(path) => std::fs::read_to_string(path).unwrap_or_default(),
                None => "(above)".to_string(),
            };
            panic!(
                "{:?} did not start; stderr:\n{log}",
                self.command.get_program()
            );
        };
        let addr = addr.trim().parse().expect("a socket address in the banner");
        Vox {
            child,
            addr,
            banner,
            stderr_path: self.stderr_path,
            own_group: self.own_group,
        }
    }
}

/// The banner is one write: "Serving …", "Available Routes:", then one line per route.
fn read_banner(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut banner = String::new();
    let mut wait = START_TIMEOUT;
    while let Ok(line) = rx.recv_timeout(wait) {
        banner.push_str(&line);
        banner.push('\n');
        if banner.contains("Serving http://") {
            wait = Duration::from_millis(300);
        }
    }
    banner
}

/// A running `vox up`; killed when dropped.
pub struct Vox {
    pub child: Child,
    pub addr: SocketAddr,
    pub banner: String,
    stderr_path: Option<PathBuf>,
    own_group: bool,
}

impl Vox {
    /// `<vox> up -f <manifest> --listen 127.0.0.1:0`, to which more arguments can be added.
    pub fn up(vox: &Path, manifest: &Path) -> Launch {
        let mut command = Command::new(vox);
        command
            .arg("up")
            .arg("-f")
            .arg(manifest)
            .args(["--listen", "127.0.0.1:0"]);
        Launch::new(command)
    }

    /// What vox logged so far, if its stderr went to a file.
    pub fn stderr(&self) -> String {
        self.stderr_path
            .as_ref()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Sends SIGTERM, as a service manager stopping vox would.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// What `kill` is given to reach the server: its pid, or its process group's (`-pgid`).
    pub fn kill_target(&self) -> String {
        let pid = self.child.id();
        if self.own_group {
            format!("-{pid}")
        } else {
            pid.to_string()
        }
    }
}

impl Drop for Vox {
    fn drop(&mut self) {
        if self.own_group {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &self.kill_target()])
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
