//! Property-based fuzzing of CSV and Alpaca-JSON ingest: mutated, truncated and garbage files
//! never panic, and a rejected import leaves the store byte-for-byte as it was.
//!
//! Bounded for CI by the case count (`PROPTEST_CASES` overrides the default below; a nightly
//! or local run can raise it, e.g. `PROPTEST_CASES=20000 cargo test -p datasets --test ingest_fuzz`).

use std::fs;
use std::path::Path;
use std::sync::OnceLock;

use datasets::actions::import_files;
use datasets::ingest::{ImportOptions, parse_bytes};
use datasets::store::{Store, WriteMode};
use proptest::prelude::*;

const CSV: &str = "timestamp,open,high,low,close,volume,vwap,trade_count,symbol\n\
2021-01-04T14:30:00Z,10,11,9.5,10.5,1200,10.2,31,AAA\n\
2021-01-04T14:31:00Z,10.5,10.9,10.1,10.8,900,10.6,12,AAA\n\
2021-01-04T14:30:00Z,50,51,49,50.5,300,50.1,7,BBB\n\
2021-01-04T14:32:00Z,10.8,11.2,10.7,11,2336500,10.9,40,AAA\n";

const JSON: &str = r#"{"bars":{"AAA":[
{"t":"2021-01-04T14:30:00Z","o":10,"h":11,"l":9.5,"c":10.5,"v":1200,"vw":10.2,"n":31},
{"t":"2021-01-04T14:31:00Z","o":10.5,"h":10.9,"l":10.1,"c":10.8,"v":900,"vw":10.6,"n":12}],
"BBB":[{"t":"2021-01-04T14:30:00Z","o":50,"h":51,"l":49,"c":50.5,"v":300}]},"next_page_token":null}"#;

/// Bytes that matter to the parsers (separators, quotes, digits, signs, JSON punctuation),
/// plus a few that must never be accepted (NUL, control, invalid UTF-8).
const ALPHABET: &[u8] = b",,,\n\n\r\"\"{}[]:0123456789..--+eEZT \t\x00\x07\xffaAzS";

#[derive(Clone, Debug)]
enum Mutation {
    /// Cut the file at a position (a truncated download).
    Truncate(usize),
    /// Overwrite bytes at a position.
    Overwrite(usize, Vec<u8>),
    /// Insert bytes at a position.
    Insert(usize, Vec<u8>),
    /// Repeat one byte many times at a position (long lines, huge values).
    Repeat(usize, u8, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let bytes = prop::collection::vec(prop::sample::select(ALPHABET), 1..12);
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), bytes.clone()).prop_map(|(at, b)| Mutation::Overwrite(at, b)),
        (any::<usize>(), bytes).prop_map(|(at, b)| Mutation::Insert(at, b)),
        (any::<usize>(), prop::sample::select(ALPHABET), 1usize..100_000)
            .prop_map(|(at, b, n)| Mutation::Repeat(at, b, n)),
    ]
}

fn apply(mut data: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let at = |i: usize| i % (data.len() + 1);
        match m {
            Mutation::Truncate(i) => data.truncate(at(*i)),
            Mutation::Overwrite(i, b) => {
                let start = at(*i);
                let end = (start + b.len()).min(data.len());
                data.splice(start..end, b.iter().copied());
            }
            Mutation::Insert(i, b) => {
                let start = at(*i);
                data.splice(start..start, b.iter().copied());
            }
            Mutation::Repeat(i, b, n) => {
                let start = at(*i);
                data.splice(start..start, std::iter::repeat_n(*b, *n));
            }
        }
    }
    data
}

/// Every file under the store with its bytes (the lock files excepted): its exact state.
fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if !path.ends_with("LOCK") && !path.ends_with("READERS") {
                out.push((path.clone(), fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// A directory holding a store seeded with [`CSV`], made once per test process.
fn shared_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let seed = dir.path().join("seed.csv");
        fs::write(&seed, CSV).unwrap();
        import_files(&dir.path().join("store"), &[seed], &ImportOptions::default(), None, WriteMode::Append)
            .unwrap();
        dir
    })
    .path()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_files_never_panic_and_rejected_imports_leave_the_store_untouched(
        json in any::<bool>(),
        mutations in prop::collection::vec(mutation(), 1..4),
        symbol in prop::option::of(prop_oneof![Just(String::new()), "[A-Z,\\x00-\\x1f ]{0,40}"]),
    ) {
        let base = if json { JSON } else { CSV };
        let data = apply(base.as_bytes().to_vec(), &mutations);
        let opts = ImportOptions { symbol, ..ImportOptions::default() };
        let name = if json { "fuzz.json" } else { "fuzz.csv" };
        let parsed = parse_bytes(name, &data, &opts);

        // One store for every case (a fresh one each time is mostly fsync time); cases run
        // one after another, and each compares against the state just before it.
        let dir = shared_dir();
        let store = dir.join("store");
        let before = snapshot(&store);
        let file = dir.join(name);
        fs::write(&file, &data).unwrap();
        let opts_for_import = opts.clone();
        match import_files(&store, &[file], &opts_for_import, None, WriteMode::Append) {
            Err(e) => {
                prop_assert_eq!(snapshot(&store), before, "rejected import changed the store: {}", e);
                prop_assert!(e.to_string().len() < 1000, "error message too long: {} bytes", e.to_string().len());
            }
            Ok(_) => {
                prop_assert!(parsed.is_ok(), "import accepted what parsing refused");
                let report = Store::open(&store).unwrap().verify().unwrap();
                prop_assert!(report.is_clean(), "{:?}", report);
            }
        }
    }
}
