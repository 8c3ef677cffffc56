//! In-process caches for the public API, invalidated by generation.
//!
//! Every knowledge base and project has a generation number. Cache keys include the generation
//! current when the request started, and every write bumps the generation of what it touched
//! *after* committing and *before* its response is sent. A reader that started before the bump
//! can at worst store an entry under the old generation, which no later request looks up — so
//! once a write has returned, no request sees what it replaced.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock, Weak};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};
use tome_core::model::ApiKey;
use tome_store::{PublishedTree, SiteAccess, Store, StoreError};

use crate::wire::{Headers, text};

/// The caches' hasher: seeded per process, several times faster than SipHash on the short keys
/// every cached read looks up (site keys, paths).
pub(crate) type Hasher = foldhash::fast::RandomState;

/// A cache with [`Hasher`].
pub(crate) type Cache<K, V> = moka::future::Cache<K, V, Hasher>;

/// Bodies larger than this are also kept gzip-compressed.
const GZIP_MIN_BYTES: usize = 1024;

/// A rendered body nobody has read for this long leaves the cache. Keys carry generations, so
/// every write leaves the bodies of the old one behind, never to be read again; without this
/// they would stay until the cache filled up, holding memory and the large ones' files (at most
/// [`BodyFile::MAX_OPEN`]: after a burst of writes, new bodies would go out copied). A body
/// in use is read far more often; one that idles out is simply rendered again.
pub(crate) const IDLE_BODY: std::time::Duration = std::time::Duration::from_secs(300);

/// A rendered response body, ready to send.
#[derive(Debug)]
pub struct CachedBody {
    pub body: Bytes,
    pub gzip: Option<Bytes>,
    /// Strong validator of `body`: a hash of it.
    pub etag: HeaderValue,
    /// Strong validator of the gzip representation (a different representation, another tag).
    pub etag_gzip: HeaderValue,
    /// `body` and `gzip` as files of their own, for large representations: the server sends
    /// them with `sendfile` instead of copying them into the socket (see [`BodyFile`]). Empty
    /// until made ([`CachedBody::shared`]).
    files: [OnceLock<BodyFile>; 2],
    /// The fixed part of each representation's response head, serialised on first use
    /// ([`crate::answer::BodyAnswer::write_head`]; a body belongs to one kind of answer).
    heads: [OnceLock<Box<[u8]>>; 2],
}

/// Which representation of a [`CachedBody`] a request gets.
pub struct Negotiated<'a> {
    /// The gzip representation (the client accepts it and there is one).
    pub gzip: bool,
    /// The representation's strong validator.
    pub etag: &'a HeaderValue,
    /// `If-None-Match` names it: the answer is 304.
    pub fresh: bool,
}

/// A large response body as a file of its own, which [`crate::server`] hands to the kernel with
/// `sendfile` — the socket takes the file's pages without the copy a `write` makes, as nginx
/// serves static files. Attached to a response as an extension; anything that ignores it (hyper,
/// tests) sends the body bytes, which are the same.
///
/// The file is an unnamed one (`O_TMPFILE`) in the directory [`BodyFile::keep_in`] names — the
/// server names its search index's, which is local to the node — or else an in-memory file
/// (`memfd`). A file system's page cache beats `memfd`'s: `sendfile` from `memfd` (shmem) takes
/// its pages one 4 KiB page at a time, where ext4 holds a body in one large folio; the 17.7 KB
/// article cost 3.6% less server CPU per request (`bench/README.md`, stop 15). Such a file is
/// never linked into the directory, so it cannot clash with anything there and vanishes with
/// its last descriptor; its pages may be written back to the disk like any file's (at most
/// [`BodyFile::MAX_OPEN`] bodies at a time).
#[derive(Clone, Debug)]
pub struct BodyFile(Arc<body_file::Inner>);

impl BodyFile {
    /// Bodies at least this large get a file. Below it the copy a `write` makes costs less than
    /// the head's separate system call (from 4 KiB, the 7.4 KB structure got slower). At 16 KiB
    /// the 17.7 KB article costs less server CPU than written, and its reader copies it out of
    /// the file's pages, which stay in the cache, instead of freshly written socket buffers:
    /// with the load generator on a core of its own, 1.00–1.07× nginx's req/s against
    /// 0.93–0.97× at 64 KiB (`bench/README.md`, stop 14).
    pub const MIN_BYTES: usize = 16 * 1024;
    /// At most this many files at once (each holds a descriptor: never crowd out sockets).
    pub const MAX_OPEN: usize = 256;

    /// Makes this process create body files in `dir` from now on (see [`BodyFile`]); the first
    /// call wins. Where the directory's file system cannot make unnamed files, each body falls
    /// back to an in-memory file.
    pub fn keep_in(dir: &std::path::Path) {
        let _ = body_file::DIR.set(dir.to_path_buf());
    }

    /// A file holding `body`, when the platform has one and the limit on open files allows.
    fn for_body(body: &[u8]) -> Option<BodyFile> {
        if !Self::wanted(body.len()) {
            return None;
        }
        body_file::Inner::create(body).map(|inner| BodyFile(Arc::new(inner)))
    }

    /// Whether a body of `len` bytes gets a file.
    fn wanted(len: usize) -> bool {
        len >= Self::MIN_BYTES
    }

    /// The file's length in bytes.
    pub fn len(&self) -> usize {
        self.0.len
    }

    /// Whether the file is empty (never: small bodies get no file).
    pub fn is_empty(&self) -> bool {
        self.0.len == 0
    }

    #[cfg(target_os = "linux")]
    pub(crate) fn file(&self) -> Option<&std::fs::File> {
        self.0.file.as_ref()
    }
}

mod body_file {
    use std::path::PathBuf;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static OPEN: AtomicUsize = AtomicUsize::new(0);
    /// Where body files are made ([`super::BodyFile::keep_in`]); unset: in memory.
    pub static DIR: OnceLock<PathBuf> = OnceLock::new();

    /// Whether body files are made on a disk (in [`DIR`]) rather than in memory.
    pub fn on_disk() -> bool {
        cfg!(target_os = "linux") && DIR.get().is_some()
    }

    #[derive(Debug)]
    pub struct Inner {
        /// Always `Some` until the drop hands it to another thread.
        #[cfg(target_os = "linux")]
        pub file: Option<std::fs::File>,
        pub len: usize,
    }

    impl Inner {
        #[cfg(target_os = "linux")]
        pub fn create(body: &[u8]) -> Option<Inner> {
            use std::io::Write;
            if OPEN.fetch_add(1, Ordering::Relaxed) >= super::BodyFile::MAX_OPEN {
                OPEN.fetch_sub(1, Ordering::Relaxed);
                return None;
            }
            let made = open().and_then(|fd| {
                let mut file = std::fs::File::from(fd);
                file.write_all(body)?;
                Ok(file)
            });
            match made {
                Ok(file) => Some(Inner {
                    file: Some(file),
                    len: body.len(),
                }),
                Err(e) => {
                    OPEN.fetch_sub(1, Ordering::Relaxed);
                    tracing::debug!(error = %e, "no file for a large body");
                    None
                }
            }
        }

        #[cfg(not(target_os = "linux"))]
        pub fn create(_body: &[u8]) -> Option<Inner> {
            None
        }
    }

    /// An unnamed file in [`DIR`], or else an in-memory one.
    #[cfg(target_os = "linux")]
    fn open() -> std::io::Result<rustix::fd::OwnedFd> {
        use rustix::fs::{MemfdFlags, Mode, OFlags};
        if let Some(dir) = DIR.get() {
            let flags = OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC;
            match rustix::fs::open(dir, flags, Mode::RUSR | Mode::WUSR) {
                Ok(fd) => return Ok(fd),
                Err(e) => tracing::debug!(error = %e, dir = %dir.display(),
                    "no unnamed file for a large body; keeping it in memory"),
            }
        }
        Ok(rustix::fs::memfd_create(c"tome-body", MemfdFlags::CLOEXEC)?)
    }

    impl Drop for Inner {
        fn drop(&mut self) {
            OPEN.fetch_sub(1, Ordering::Relaxed);
            // Closing the last descriptor of a disk file frees its inode through the file
            // system's journal, which can wait on a commit in progress: not on the thread of the
            // request (or the write) that dropped the last reference.
            #[cfg(target_os = "linux")]
            if on_disk()
                && let Ok(runtime) = tokio::runtime::Handle::try_current()
                && let Some(file) = self.file.take()
            {
                runtime.spawn_blocking(move || drop(file));
            }
        }
    }
}

impl CachedBody {
    /// A body ready to share, with files for its large representations ([`BodyFile`]).
    ///
    /// In memory a file takes microseconds and is made here. On a disk, making one waits on the
    /// file system's journal now and then (up to 4 ms measured while writes were being
    /// committed), so a thread of the blocking pool makes it instead, and the first answers
    /// copy the bytes meanwhile: a request never waits for a body's file.
    pub fn shared(body: Vec<u8>) -> Arc<CachedBody> {
        let this = Arc::new(Self::new(body));
        let wanted = BodyFile::wanted(this.body.len())
            || this
                .gzip
                .as_ref()
                .is_some_and(|gz| BodyFile::wanted(gz.len()));
        if !wanted {
            return this;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) if body_file::on_disk() => {
                let body = Arc::downgrade(&this);
                runtime.spawn_blocking(move || {
                    if let Some(body) = body.upgrade() {
                        body.make_files();
                    }
                });
            }
            _ => this.make_files(),
        }
        this
    }

    fn make_files(&self) {
        let representations = [Some(&self.body), self.gzip.as_ref()];
        for (slot, bytes) in self.files.iter().zip(representations) {
            if let Some(file) = bytes.and_then(|b| BodyFile::for_body(b)) {
                let _ = slot.set(file);
            }
        }
    }

    /// The file of representation `gzip`, once it has one.
    pub fn file(&self, gzip: bool) -> Option<&BodyFile> {
        self.files[usize::from(gzip)].get()
    }

    fn new(body: Vec<u8>) -> Self {
        let digest = Sha256::digest(&body);
        let tag: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        let etag = HeaderValue::from_str(&format!("\"{tag}\""))
            .unwrap_or(HeaderValue::from_static("\"0\""));
        let etag_gzip = HeaderValue::from_str(&format!("\"{tag}-gz\""))
            .unwrap_or(HeaderValue::from_static("\"0-gz\""));
        let gzip = (body.len() > GZIP_MIN_BYTES).then(|| gzip(&body)).flatten();
        CachedBody {
            body: Bytes::from(body),
            gzip,
            etag,
            etag_gzip,
            files: Default::default(),
            heads: Default::default(),
        }
    }

    /// The fixed part of the response head of representation `gzip`, made by `build` the first
    /// time.
    pub fn fixed_head(&self, gzip: bool, build: impl FnOnce() -> Vec<u8>) -> &[u8] {
        self.heads[usize::from(gzip)].get_or_init(|| build().into_boxed_slice())
    }

    /// The representation for a request with `headers`: gzip when accepted, and whether the
    /// client already holds it (`If-None-Match`).
    pub fn negotiate<H: Headers + ?Sized>(&self, headers: &H) -> Negotiated<'_> {
        let gzip = self.gzip.is_some() && accepts_gzip(headers);
        let etag = if gzip { &self.etag_gzip } else { &self.etag };
        let fresh = headers
            .header("if-none-match")
            .and_then(text)
            .is_some_and(|v| {
                // `*` matches any current representation (RFC 9110 §13.1.2).
                v.trim() == "*"
                    || v.split(',')
                        .any(|t| t.trim().trim_start_matches("W/").as_bytes() == etag.as_bytes())
            });
        Negotiated { gzip, etag, fresh }
    }

    /// The body (gzip-compressed when `gzip` and there is such a representation) as a response
    /// with `status`, with its file when it has one. The header map is sized for what callers
    /// add (validators, CORS, rate limits, security headers), so it never grows on the way.
    pub fn body_response(&self, status: StatusCode, gzip: bool) -> Response {
        let Some(gz) = self.gzip.as_ref().filter(|_| gzip) else {
            return self.identity(status);
        };
        let mut resp = sized_response(status, Body::from(gz.clone()));
        resp.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        if let Some(file) = self.file(true) {
            resp.extensions_mut().insert(file.clone());
        }
        resp
    }

    /// `304 Not Modified`, its header map sized like [`CachedBody::body_response`]'s.
    pub fn not_modified() -> Response {
        sized_response(StatusCode::NOT_MODIFIED, Body::empty())
    }

    /// The response to a request with `headers`: gzip when accepted, 304 when `If-None-Match`
    /// names the current representation, with the validators and caching headers.
    pub fn respond<H: Headers + ?Sized>(&self, headers: &H) -> Response {
        self.respond_to(self.negotiate(headers))
    }

    /// [`CachedBody::respond`] once the representation is known.
    pub fn respond_to(&self, negotiated: Negotiated<'_>) -> Response {
        let Negotiated { gzip, etag, fresh } = negotiated;
        if fresh {
            self.with_json_headers(Self::not_modified(), etag)
        } else {
            self.representation(gzip)
        }
    }

    /// The `200` answer in representation `gzip`, with the validators and caching headers.
    pub fn representation(&self, gzip: bool) -> Response {
        let etag = if gzip { &self.etag_gzip } else { &self.etag };
        self.with_json_headers(self.body_response(StatusCode::OK, gzip), etag)
    }

    fn with_json_headers(&self, mut resp: Response, etag: &HeaderValue) -> Response {
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert(header::ETAG, etag.clone());
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        if self.gzip.is_some() {
            h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        }
        resp
    }

    /// The uncompressed body as a response, with its file when it has one.
    pub fn identity(&self, status: StatusCode) -> Response {
        let mut resp = sized_response(status, Body::from(self.body.clone()));
        if let Some(file) = self.file(false) {
            resp.extensions_mut().insert(file.clone());
        }
        resp
    }

    /// Bytes of memory this body holds, the pages of the files it gets included (counted from
    /// the start: the cache weighs a body once, and its files may come later).
    pub fn bytes(&self) -> usize {
        let with_file = |len: usize| if BodyFile::wanted(len) { 2 * len } else { len };
        with_file(self.body.len()) + self.gzip.as_ref().map_or(0, |gz| with_file(gz.len()))
    }

    fn weight(&self) -> u32 {
        (self.bytes() + 128).min(u32::MAX as usize) as u32
    }
}

/// A response with room for the headers a cached answer carries.
fn sized_response(status: StatusCode, body: Body) -> Response {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    *resp.headers_mut() = HeaderMap::with_capacity(16);
    resp
}

/// Whether `Accept-Encoding` admits gzip (`gzip;q=0` means it does not).
pub(crate) fn accepts_gzip<H: Headers + ?Sized>(headers: &H) -> bool {
    headers
        .header_values("accept-encoding")
        .filter_map(text)
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let q_zero = parts.any(|p| {
                let p = p.trim();
                p.get(..2).is_some_and(|k| k.eq_ignore_ascii_case("q="))
                    && p[2..].trim().parse::<f32>().ok() == Some(0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !q_zero
        })
}

fn gzip(body: &[u8]) -> Option<Bytes> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 3),
        // The fastest level: compression runs on the first read after a write, which has a
        // latency budget; higher levels save a few more bytes for several times the CPU.
        flate2::Compression::fast(),
    );
    enc.write_all(body).ok()?;
    enc.finish().ok().map(Bytes::from)
}

#[derive(Debug, Clone)]
struct CachedAccess {
    access: Arc<SiteAccess>,
    /// The counter value when the database read began: the entry is valid while neither its KB
    /// nor its project has been bumped since (bumps take values at or above it).
    loaded_at: u64,
}

/// The public API's caches.
///
/// Two generations per KB: *content* (anything a public response renders: the KB's settings,
/// categories, sections, articles, FAQs) and *access* (what the gate checks: slug, site keys,
/// the KB's existence). Content writes are frequent and leave cached site-key lookups alone.
pub struct PublicCache {
    /// Tells this cache's entries in the per-thread maps from another instance's (tests run many
    /// apps in one process).
    id: u64,
    counter: AtomicU64,
    /// Bumped when everything is stale at once (the index was rebuilt from the database, so the
    /// changes in between are unknown): every generation reads at least this.
    everything: AtomicU64,
    /// Bumped by any change to any admin or assistant key.
    keys_generation: AtomicU64,
    // Keyed by IDs Tome made, never by what a client sent.
    kb_generations: RwLock<FxHashMap<String, u64>>,
    /// Per KB, the change-feed position through which this node's own writes already bumped
    /// the KB's generation: when the feed follower later applies those same changes, there is
    /// nothing left to invalidate ([`PublicCache::invalidate_kb_change`]).
    kb_covered: std::sync::Mutex<FxHashMap<String, i64>>,
    access_generations: RwLock<FxHashMap<String, u64>>,
    project_generations: RwLock<FxHashMap<String, u64>>,
    bodies: Cache<String, Arc<CachedBody>>,
    trees: Cache<(String, u64), Arc<PublishedTree>>,
    access: Cache<String, CachedAccess>,
    api_keys: Cache<String, Arc<CachedKey>>,
}

static NEXT_CACHE_ID: AtomicU64 = AtomicU64::new(1);

/// A thread's own map in front of one of a [`PublicCache`]'s shared caches, for one instance at
/// a time (tests run many apps in one process). Only what the shared cache held gets here, and
/// the map starts over past [`Near::MAX`] entries (old generations' keys pile up in it).
struct Near<V> {
    owner: u64,
    map: FxHashMap<Box<str>, V>,
}

impl<V> Near<V> {
    const MAX: usize = 4096;

    fn new() -> Self {
        Near {
            owner: 0,
            map: FxHashMap::default(),
        }
    }

    fn get(&self, cache: u64, key: &str) -> Option<&V> {
        if self.owner == cache {
            self.map.get(key)
        } else {
            None
        }
    }

    fn put(&mut self, cache: u64, key: &str, value: V) {
        if self.owner != cache || self.map.len() >= Self::MAX {
            self.owner = cache;
            self.map.clear();
        }
        self.map.insert(key.into(), value);
    }
}

/// How often a hit in a thread's body map is also a read of the shared cache.
const TOUCH_EVERY: u32 = 16;

thread_local! {
    /// Site-key lookups, checked against the generations on every use.
    static NEAR_ACCESS: std::cell::RefCell<Near<CachedAccess>> =
        std::cell::RefCell::new(Near::new());
    /// Bodies, held weakly; and the hits so far, for [`TOUCH_EVERY`].
    static NEAR_BODIES: std::cell::RefCell<(Near<Weak<CachedBody>>, u32)> =
        std::cell::RefCell::new((Near::new(), 0));
}

/// An admin or assistant key as last read from the database.
#[derive(Debug)]
pub struct CachedKey {
    pub key: ApiKey,
    /// The counter value when the database read began (as [`CachedAccess::loaded_at`]).
    loaded_at: u64,
    /// When this node last recorded the key's use (Unix seconds; 0 = not recently).
    touched: AtomicI64,
}

impl CachedKey {
    /// Whether the key's `last_used_at` is due for a refresh at `now`, claiming the refresh if
    /// so: of many requests at once, one writes it.
    pub fn claim_touch(&self, now: i64, interval: i64) -> bool {
        let last = self.touched.load(Ordering::Relaxed);
        now - last >= interval
            && self
                .touched
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

impl std::fmt::Debug for PublicCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicCache").finish_non_exhaustive()
    }
}

impl PublicCache {
    /// A cache holding at most about `max_bytes` of rendered bodies.
    pub fn new(max_bytes: u64) -> Self {
        Self::with_idle(max_bytes, IDLE_BODY)
    }

    /// [`PublicCache::new`] with bodies dropped after `idle` unread.
    fn with_idle(max_bytes: u64, idle: std::time::Duration) -> Self {
        PublicCache {
            id: NEXT_CACHE_ID.fetch_add(1, Ordering::Relaxed),
            counter: AtomicU64::new(1),
            everything: AtomicU64::new(0),
            keys_generation: AtomicU64::new(0),
            kb_generations: RwLock::default(),
            kb_covered: Default::default(),
            access_generations: RwLock::default(),
            project_generations: RwLock::default(),
            bodies: moka::future::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_, v: &Arc<CachedBody>| v.weight())
                .time_to_idle(idle)
                .build_with_hasher(Hasher::default()),
            trees: moka::future::Cache::builder()
                .max_capacity(256)
                .build_with_hasher(Hasher::default()),
            access: moka::future::Cache::builder()
                .max_capacity(100_000)
                .build_with_hasher(Hasher::default()),
            api_keys: moka::future::Cache::builder()
                .max_capacity(100_000)
                .build_with_hasher(Hasher::default()),
        }
    }

    fn generation(&self, map: &RwLock<FxHashMap<String, u64>>, id: &str) -> u64 {
        // A poisoned lock only means a panic elsewhere mid-insert; the map is still consistent.
        let map = map.read().unwrap_or_else(|p| p.into_inner());
        let own = map.get(id).copied().unwrap_or(0);
        own.max(self.everything.load(Ordering::SeqCst))
    }

    fn bump(&self, map: &RwLock<FxHashMap<String, u64>>, id: &str) {
        let next = self.counter.fetch_add(1, Ordering::SeqCst);
        let mut map = map.write().unwrap_or_else(|p| p.into_inner());
        map.insert(id.to_string(), next);
    }

    pub fn kb_generation(&self, kb_id: &str) -> u64 {
        self.generation(&self.kb_generations, kb_id)
    }

    fn project_generation(&self, project_id: &str) -> u64 {
        self.generation(&self.project_generations, project_id)
    }

    /// Everything rendered from this KB's content or settings is stale from now on.
    pub fn invalidate_kb(&self, kb_id: &str) {
        self.bump(&self.kb_generations, kb_id);
    }

    /// After a write of this node: everything rendered from this KB is stale from now on, and so
    /// is every change the feed holds up to `through`, which must have been read from the feed
    /// *after* the write committed and *before* this call. Writes are serialised and `seq` order
    /// is commit order (tome-store), so every change up to `through` is visible to whoever
    /// renders after this bump: when the follower applies them, it need not bump again — which
    /// would throw away what readers rendered in between and make them render it twice.
    pub fn invalidate_kb_through(&self, kb_id: &str, through: i64) {
        self.invalidate_kb(kb_id);
        // After the bump: a follower that looks in between only bumps once more, harmlessly.
        let mut covered = self.kb_covered.lock().unwrap_or_else(|p| p.into_inner());
        let at = covered.entry(kb_id.to_string()).or_insert(through);
        *at = (*at).max(through);
    }

    /// The change feed says this KB changed, up to `seq`: stale from now on, unless a write of
    /// this node already bumped it after all of that was committed.
    pub fn invalidate_kb_change(&self, kb_id: &str, seq: i64) {
        let covered = {
            let covered = self.kb_covered.lock().unwrap_or_else(|p| p.into_inner());
            covered.get(kb_id).copied()
        };
        if covered.is_none_or(|c| seq > c) {
            self.invalidate_kb(kb_id);
        }
    }

    /// Site-key lookups of this KB (its keys, rate limit, slug, existence) are stale from now on.
    pub fn invalidate_kb_access(&self, kb_id: &str) {
        self.bump(&self.access_generations, kb_id);
    }

    /// Everything cached about this project (its allowed domains) is stale from now on.
    pub fn invalidate_project(&self, project_id: &str) {
        self.bump(&self.project_generations, project_id);
    }

    /// Every admin and assistant key lookup is stale from now on.
    pub fn invalidate_api_keys(&self) {
        let next = self.counter.fetch_add(1, Ordering::SeqCst);
        self.keys_generation.store(next, Ordering::SeqCst);
    }

    /// Everything cached is stale from now on.
    pub fn invalidate_all(&self) {
        let next = self.counter.fetch_add(1, Ordering::SeqCst);
        self.everything.store(next, Ordering::SeqCst);
    }

    /// The stored key (revoked or not) whose plaintext is `presented`, from cache while no key
    /// and nothing of its project has changed since it was read. Keyed by the presented key, so
    /// a hit costs no hashing. Every key change is in the change feed: this node's own through
    /// the follower, like another node's or the CLI's.
    pub async fn api_key(
        &self,
        store: &dyn Store,
        presented: &str,
    ) -> Result<Option<Arc<CachedKey>>, StoreError> {
        let keys_generation = self
            .keys_generation
            .load(Ordering::SeqCst)
            .max(self.everything.load(Ordering::SeqCst));
        if let Some(c) = self.api_keys.get(presented).await
            && keys_generation < c.loaded_at
            && self.project_generation(&c.key.project_id) < c.loaded_at
        {
            return Ok(Some(c));
        }
        let read = |hash: String| async move { store.find_api_key(&hash).await };
        self.read_through(&self.api_keys, presented, read, |key, loaded_at| {
            Arc::new(CachedKey {
                key,
                loaded_at,
                touched: AtomicI64::new(0),
            })
        })
        .await
    }

    /// The active site key `presented` by a client, from cache when nothing it depends on has
    /// changed. Keyed by the presented key itself, so a cached hit costs no hashing.
    pub async fn site_access(
        &self,
        store: &dyn Store,
        presented: &str,
    ) -> Result<Option<Arc<SiteAccess>>, StoreError> {
        if let Some(access) = self.cached_site_access(presented).await {
            return Ok(Some(access));
        }
        let read = |hash: String| async move { store.site_access(&hash).await };
        let found = self
            .read_through(&self.access, presented, read, |found, loaded_at| {
                CachedAccess {
                    access: Arc::new(found),
                    loaded_at,
                }
            })
            .await?;
        Ok(found.map(|c| c.access))
    }

    /// Reads the row of the key `presented` with `read` (given the key's SHA-256 hash) and
    /// caches what `entry` makes of it in `cache`. The entry is stamped with the counter value
    /// taken before the read: a change that commits during the read bumps at or above it, so
    /// such an entry is stale from the start. Nothing found forgets any entry for `presented`.
    async fn read_through<T, V, Fut>(
        &self,
        cache: &Cache<String, V>,
        presented: &str,
        read: impl FnOnce(String) -> Fut,
        entry: impl FnOnce(T, u64) -> V,
    ) -> Result<Option<V>, StoreError>
    where
        V: Clone + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Option<T>, StoreError>>,
    {
        let loaded_at = self.counter.load(Ordering::SeqCst);
        let Some(found) = read(tome_core::keys::hash_key(presented)).await? else {
            cache.invalidate(presented).await;
            return Ok(None);
        };
        let value = entry(found, loaded_at);
        cache.insert(presented.to_string(), value.clone()).await;
        Ok(Some(value))
    }

    /// The cached, still valid lookup of the site key `presented`; never reads the database.
    /// Each thread keeps the lookups it made in a small map of its own in front of the shared
    /// cache ([`Near`]): a hit there costs no atomic operation and no shared cache line.
    /// Entries are checked against the generations exactly as the shared ones are, so they are
    /// never more stale than those.
    pub async fn cached_site_access(&self, presented: &str) -> Option<Arc<SiteAccess>> {
        let valid = |c: &CachedAccess| {
            self.generation(&self.access_generations, &c.access.kb_id) < c.loaded_at
                && self.project_generation(&c.access.project_id) < c.loaded_at
        };
        let near = NEAR_ACCESS.with_borrow(|n| n.get(self.id, presented).cloned());
        if let Some(c) = near.filter(|c| valid(c)) {
            return Some(c.access);
        }
        let c = self.access.get(presented).await?;
        if !valid(&c) {
            return None;
        }
        NEAR_ACCESS.with_borrow_mut(|n| n.put(self.id, presented, c.clone()));
        Some(c.access)
    }

    /// The cache key of a KB's rendered body at the KB's current generation:
    /// `{kb_id}:{generation}:{what}`, `what` being the request path (or `search?` and the
    /// normalized parameters). The only place this key is built, so the pre-router lookup and
    /// the handlers cannot drift apart.
    pub fn body_key(&self, kb_id: &str, what: &str) -> String {
        let generation = self.kb_generation(kb_id);
        let mut key = String::with_capacity(kb_id.len() + what.len() + 22);
        key.push_str(kb_id);
        key.push(':');
        key.push_str(itoa::Buffer::new().format(generation));
        key.push(':');
        key.push_str(what);
        key
    }

    /// The body cached under `key`, if any. Like site-key lookups, each thread keeps the
    /// bodies it found in a map of its own in front of the shared cache — weakly, so the shared
    /// cache alone decides how long a body lives; keys carry the KB's generation, so such an
    /// entry can never be stale. One hit in [`TOUCH_EVERY`] is also read from the
    /// shared cache, so its eviction policy still sees which bodies are in use.
    pub async fn cached_body(&self, key: &str) -> Option<Arc<CachedBody>> {
        let near = NEAR_BODIES.with_borrow_mut(|(near, hits)| {
            let body = near.get(self.id, key)?.upgrade()?;
            *hits = hits.wrapping_add(1);
            Some((body, *hits % TOUCH_EVERY == 0))
        });
        if let Some((body, touch)) = near {
            if touch {
                let _ = self.bodies.get(key).await;
            }
            return Some(body);
        }
        let body = self.bodies.get(key).await?;
        NEAR_BODIES.with_borrow_mut(|(near, _)| near.put(self.id, key, Arc::downgrade(&body)));
        Some(body)
    }

    /// The KB's published tree as of `generation`, loaded once however many requests ask.
    pub async fn tree(
        &self,
        store: &dyn Store,
        kb_id: &str,
        generation: u64,
    ) -> Result<Arc<PublishedTree>, StoreError> {
        self.trees
            .try_get_with((kb_id.to_string(), generation), async {
                store.published_tree(kb_id).await.map(Arc::new)
            })
            .await
            .map_err(|e| match Arc::try_unwrap(e) {
                Ok(e) => e,
                Err(shared) => StoreError::Internal(shared.to_string().into()),
            })
    }

    /// The cached body under `key`, or the one `render` produces — rendered once however many
    /// requests miss at the same time. Errors are not cached.
    pub async fn body_or_render<E, F>(&self, key: String, render: F) -> Result<Arc<CachedBody>, E>
    where
        E: Clone + Send + Sync + 'static,
        F: std::future::Future<Output = Result<Vec<u8>, E>>,
    {
        self.bodies
            .try_get_with(key, async { render.await.map(CachedBody::shared) })
            .await
            .map_err(|e| (*e).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bodies_left_unread_leave_the_cache_with_their_files() {
        let idle = std::time::Duration::from_millis(300);
        let cache = PublicCache::with_idle(1 << 20, idle);
        let render = |n: usize| async move { Ok::<_, ()>(vec![b'x'; n]) };
        let old = cache
            .body_or_render("kb_a:1:/big".into(), render(40_000))
            .await;
        let old = Arc::downgrade(&old.expect("rendered"));
        for _ in 0..3 {
            tokio::time::sleep(idle / 3).await;
            // The current generation's body is read; the old one is not.
            cache
                .body_or_render("kb_a:2:/big".into(), render(40_000))
                .await
                .expect("rendered");
        }
        cache.bodies.run_pending_tasks().await;
        assert!(
            cache.bodies.get("kb_a:2:/big").await.is_some(),
            "a body in use stays"
        );
        assert!(
            cache.bodies.get("kb_a:1:/big").await.is_none(),
            "an unread body leaves"
        );
        // Dropped with it: the body, its bytes and the file it had (memfd here), nothing left
        // holding it.
        assert!(old.upgrade().is_none());
    }

    #[test]
    fn gzip_negotiation() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip"),
        );
        assert!(accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0"),
        );
        assert!(!accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("identity, *;Q=0.5"),
        );
        assert!(accepts_gzip(&h));
    }
}
