//! A catalogue of installed entries of one kind (Whisper models, Piper voices) in a directory:
//! which are installed, which entry a requested name resolves to, and the ones loaded in this
//! instance, each loaded once.
//!
//! Generic over a [`Kind`], which says how an entry sits in the directory, what a listing says
//! of it, how it loads and which aliases it answers to. The catalogue owns the rest: the cache,
//! the check of ids against path tricks, and the not-found error listing what is installed.
//! Pure Rust with no Spin or WebAssembly in it, so the components using it stay thin and this is
//! unit-tested natively. A component keeps its catalogue in a `thread_local!`: an instance serves
//! many requests on one thread, and entries are shared as `Rc`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use vox_error::{ApiError, ErrorCode};

/// One kind of entry: how it is found, described and loaded.
pub trait Kind {
    /// What a listing says of one installed entry.
    type Info;
    /// An entry loaded and ready to use.
    type Entry;
    /// How an entry is loaded.
    type Options: Default;

    /// What an entry is called in messages; also the request parameter that names one.
    const NOUN: &'static str;
    /// The code for a name that matches no installed entry.
    const NOT_FOUND: ErrorCode;

    /// The id of the directory item named `file_name`, if such an item could be an entry.
    fn id_of(file_name: &str) -> Option<&str>;

    /// Where entry `id` lives under `dir`.
    fn path(dir: &Path, id: &str) -> PathBuf;

    /// Whether every file the entry at `path` needs is in place.
    fn is_complete(path: &Path) -> bool;

    /// The id of a listed entry.
    fn id(info: &Self::Info) -> &str;

    /// What a listing says of entry `id` at `path`, from its files alone (nothing is loaded);
    /// `None` leaves it out of the listing.
    fn describe(&self, id: &str, path: &Path) -> Option<Self::Info>;

    /// Loads the entry at `path`.
    fn load(&self, path: &Path, options: Self::Options) -> Result<Self::Entry, ApiError>;

    /// The entry an alias (a name that is not an installed id) stands for, given what is
    /// installed and the default; `None` if `name` is no alias of this kind.
    fn alias(
        &self,
        name: &str,
        installed: Vec<Self::Info>,
        default: &str,
    ) -> Option<Result<String, ApiError>> {
        let _ = (name, installed, default);
        None
    }

    /// The aliases this kind answers to, for the not-found message.
    fn alias_names(&self) -> Vec<&'static str> {
        Vec::new()
    }
}

/// The installed entries of one kind under a directory, and the ones loaded.
pub struct Catalog<K: Kind> {
    kind: K,
    dir: PathBuf,
    loaded: RefCell<HashMap<String, Rc<K::Entry>>>,
}

impl<K: Kind> Catalog<K> {
    pub fn new(dir: impl Into<PathBuf>, kind: K) -> Self {
        Self {
            kind,
            dir: dir.into(),
            loaded: RefCell::new(HashMap::new()),
        }
    }

    /// The installed entries, by id.
    pub fn installed(&self) -> Vec<K::Info> {
        let Ok(items) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut infos: Vec<K::Info> = items
            .flatten()
            .filter_map(|item| {
                let name = item.file_name().into_string().ok()?;
                let id = K::id_of(&name)?;
                let path = K::path(&self.dir, id);
                K::is_complete(&path)
                    .then(|| self.kind.describe(id, &path))
                    .flatten()
            })
            .collect();
        infos.sort_by(|a, b| K::id(a).cmp(K::id(b)));
        infos
    }

    /// Whether `id` names an installed entry. Ids are file names: empty ones, hidden ones and
    /// ones with a path separator never do.
    pub fn is_installed(&self, id: &str) -> bool {
        let valid = !id.is_empty() && !id.starts_with('.') && !id.contains(['/', '\\']);
        valid && K::is_complete(&K::path(&self.dir, id))
    }

    /// The entry a request names: an installed id as is, an alias as its kind resolves it, no
    /// name at all as `default`. Anything else is the kind's not-found error.
    pub fn resolve(&self, requested: Option<&str>, default: &str) -> Result<String, ApiError> {
        let Some(name) = requested else {
            return Ok(default.to_string());
        };
        if self.is_installed(name) {
            return Ok(name.to_string());
        }
        self.kind
            .alias(name, self.installed(), default)
            .unwrap_or_else(|| Err(self.not_found(name)))
    }

    /// The ids of the entries this instance has loaded (a pre-initialised one starts with some).
    pub fn loaded(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.loaded.borrow().keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Entry `id` if it is loaded already.
    pub fn cached(&self, id: &str) -> Option<Rc<K::Entry>> {
        self.loaded.borrow().get(id).cloned()
    }

    /// Entry `id`, loaded with the default options on first use.
    pub fn get(&self, id: &str) -> Result<Rc<K::Entry>, ApiError> {
        match self.cached(id) {
            Some(entry) => Ok(entry),
            None => self.load(id, K::Options::default()),
        }
    }

    /// Loads entry `id` with `options` and keeps it, replacing any loaded before.
    pub fn load(&self, id: &str, options: K::Options) -> Result<Rc<K::Entry>, ApiError> {
        if !self.is_installed(id) {
            return Err(self.not_found(id));
        }
        let entry = self
            .kind
            .load(&K::path(&self.dir, id), options)
            .map_err(|e| Self::loading_failed(id, e))?;
        let entry = Rc::new(entry);
        self.loaded
            .borrow_mut()
            .insert(id.to_string(), entry.clone());
        Ok(entry)
    }

    /// A failure while loading entry `id` (or finishing its preparation), its code kept and
    /// the entry named in the message.
    pub fn loading_failed(id: &str, e: impl Into<ApiError>) -> ApiError {
        let mut e = e.into();
        e.message = format!("loading {} `{id}`: {}", K::NOUN, e.message);
        e
    }

    /// The answer for a name that matches nothing: what is installed, and the aliases.
    fn not_found(&self, name: &str) -> ApiError {
        let installed: Vec<K::Info> = self.installed();
        let ids: Vec<&str> = installed.iter().map(K::id).collect();
        let mut message = format!(
            "no {} `{name}` is installed; installed: {}",
            K::NOUN,
            ids.join(", ")
        );
        let aliases = self.kind.alias_names();
        if !aliases.is_empty() {
            message.push_str(&format!("; also accepted: {}", aliases.join(", ")));
        }
        ApiError::new(K::NOT_FOUND, message).with_param(K::NOUN)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// Entries are `<id>.txt` files whose text is their language; `hello` stands for the first
    /// installed entry.
    struct Notes {
        loads: Cell<usize>,
    }

    impl Kind for Notes {
        type Info = (String, String);
        type Entry = String;
        type Options = bool;

        const NOUN: &'static str = "note";
        const NOT_FOUND: ErrorCode = ErrorCode::VoiceNotFound;

        fn id_of(file_name: &str) -> Option<&str> {
            file_name.strip_suffix(".txt")
        }

        fn path(dir: &Path, id: &str) -> PathBuf {
            dir.join(format!("{id}.txt"))
        }

        fn is_complete(path: &Path) -> bool {
            path.is_file()
        }

        fn id(info: &Self::Info) -> &str {
            &info.0
        }

        fn describe(&self, id: &str, path: &Path) -> Option<Self::Info> {
            let language = std::fs::read_to_string(path).ok()?;
            Some((id.to_string(), language))
        }

        fn load(&self, path: &Path, shout: bool) -> Result<String, ApiError> {
            self.loads.set(self.loads.get() + 1);
            let text =
                std::fs::read_to_string(path).map_err(|e| ApiError::internal(e.to_string()))?;
            if text == "broken" {
                return Err(ApiError::internal("it is broken"));
            }
            Ok(if shout { text.to_uppercase() } else { text })
        }

        fn alias(
            &self,
            name: &str,
            installed: Vec<Self::Info>,
            _default: &str,
        ) -> Option<Result<String, ApiError>> {
            (name == "hello").then(|| {
                installed
                    .first()
                    .map(|(id, _)| id.clone())
                    .ok_or_else(|| ApiError::new(ErrorCode::NoVoices, "no notes"))
            })
        }

        fn alias_names(&self) -> Vec<&'static str> {
            vec!["hello"]
        }
    }

    fn catalog(files: &[(&str, &str)]) -> Catalog<Notes> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("vox-catalog-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        Catalog::new(
            dir,
            Notes {
                loads: Cell::new(0),
            },
        )
    }

    #[test]
    fn installed_entries_are_listed_by_id() {
        let c = catalog(&[("b.txt", "en"), ("a.txt", "de"), ("other.bin", "")]);
        assert_eq!(
            c.installed(),
            [("a".into(), "de".into()), ("b".into(), "en".into())]
        );
        assert!(c.is_installed("a") && !c.is_installed("other"));
    }

    #[test]
    fn ids_pass_through_aliases_resolve_and_nothing_means_the_default() {
        let c = catalog(&[("b.txt", "en"), ("hello.txt", "en")]);
        assert_eq!(c.resolve(Some("b"), "b").unwrap(), "b");
        // An installed id wins over an alias of the same name.
        assert_eq!(c.resolve(Some("hello"), "b").unwrap(), "hello");
        assert_eq!(c.resolve(None, "b").unwrap(), "b");
        let c = catalog(&[("b.txt", "en")]);
        assert_eq!(c.resolve(Some("hello"), "b").unwrap(), "b");
        let e = catalog(&[]).resolve(Some("hello"), "b").unwrap_err();
        assert_eq!(e.code, ErrorCode::NoVoices);
    }

    #[test]
    fn unknown_names_list_what_is_installed() {
        let c = catalog(&[("b.txt", "en"), ("a.txt", "en")]);
        for name in ["nobody", "../b", ".b", "a/b", ""] {
            let e = c.resolve(Some(name), "b").unwrap_err();
            assert_eq!(
                (e.status, e.code, e.param.as_deref()),
                (404, ErrorCode::VoiceNotFound, Some("note")),
                "{name}"
            );
            assert!(e.message.contains("installed: a, b"), "{}", e.message);
            assert!(e.message.contains("hello"), "{}", e.message);
            assert_eq!(c.get(name).unwrap_err().code, ErrorCode::VoiceNotFound);
        }
    }

    #[test]
    fn entries_load_once_and_stay_loaded() {
        let c = catalog(&[("b.txt", "en"), ("a.txt", "broken")]);
        assert!(c.loaded().is_empty());
        assert_eq!(*c.get("b").unwrap(), "en");
        assert_eq!(*c.get("b").unwrap(), "en");
        assert_eq!(c.kind.loads.get(), 1);
        assert_eq!(c.loaded(), ["b"]);
        assert_eq!(*c.load("b", true).unwrap(), "EN");
        assert_eq!(*c.cached("b").unwrap(), "EN");
        let e = c.get("a").unwrap_err();
        assert_eq!(e.code, ErrorCode::InternalError);
        assert_eq!(e.message, "loading note `a`: it is broken");
        assert_eq!(c.loaded(), ["b"]);
    }
}
