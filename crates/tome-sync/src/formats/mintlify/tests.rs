#![allow(clippy::unwrap_used)]
use super::*;

fn files(list: &[(&str, &str)]) -> Files {
    let mut f = Files::default();
    for (p, t) in list {
        f.files.insert((*p).to_string(), t.as_bytes().to_vec());
    }
    f
}

fn corpus() -> Files {
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/mintlify-docs");
    assert!(
        root.join("docs.json").exists(),
        "the mintlify-docs corpus is missing at {}",
        root.display()
    );
    Files::read_dir(&root, &[]).unwrap()
}

#[test]
fn corpus_reads() {
    let files = corpus();
    let t = std::time::Instant::now();
    let d = read(&files).unwrap_or_else(|p| panic!("{p}"));
    eprintln!("{} articles in {:?}", d.articles.len(), t.elapsed());
    for l in &d.logs {
        eprintln!("log: {l}");
    }
    for a in &d.articles {
        if let Some(line) = mdx::residue(&a.new.body) {
            panic!("{}: residue {line:?}", a.path);
        }
    }
}

#[test]
#[ignore]
fn dump() {
    let files = corpus();
    let d = read(&files).unwrap();
    let want = std::env::var("DUMP").unwrap();
    for a in &d.articles {
        if want.split(',').any(|w| a.path == w) {
            println!("===== {} | {} | {:?} | {:?}\n{}", a.path, a.new.title, a.new.excerpt, a.new.tags, a.new.body);
        }
    }
}
