//! `use "other.gnet"`: loads the files a program uses, relative to the
//! including file, parses all of them and reports missing files and cycles.

use crate::ast::{self, SourceFile};
use crate::diagnostics::{Diagnostic, FileId, Sources};
use crate::parse::parse;
use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

/// Reads source files (the file system, or a map in tests).
pub trait Loader {
    /// The text of `path`, or a description of why it cannot be read.
    fn load(&self, path: &Path) -> Result<String, String>;
    /// The bytes of a binary file (a `public "FILE";` safetensors file).
    fn load_bytes(&self, path: &Path) -> Result<Vec<u8>, String> {
        let _ = path;
        Err("binary files cannot be read here".to_string())
    }
}

/// Reads from the file system, files of at most
/// [`crate::limits::MAX_SOURCE_BYTES`] bytes ([`LimitedFsLoader`] for another cap).
#[derive(Debug, Clone, Copy, Default)]
pub struct FsLoader;

impl Loader for FsLoader {
    fn load(&self, path: &Path) -> Result<String, String> {
        crate::limits::read_source(path, crate::limits::MAX_SOURCE_BYTES)
    }
    fn load_bytes(&self, path: &Path) -> Result<Vec<u8>, String> {
        crate::limits::read_bytes(path, crate::limits::MAX_PUBLIC_BYTES)
    }
}

/// Reads from the file system, files of at most `max_bytes` bytes: a `use` of
/// `/dev/zero` or a huge file is an error naming the limit, after reading it.
#[derive(Debug, Clone, Copy)]
pub struct LimitedFsLoader {
    pub max_bytes: u64,
}

impl Loader for LimitedFsLoader {
    fn load(&self, path: &Path) -> Result<String, String> {
        crate::limits::read_source(path, self.max_bytes)
    }
    fn load_bytes(&self, path: &Path) -> Result<Vec<u8>, String> {
        crate::limits::read_bytes(path, crate::limits::MAX_PUBLIC_BYTES)
    }
}

/// Serves files from memory (paths are normalized lexically).
#[derive(Debug, Clone, Default)]
pub struct MemLoader {
    files: HashMap<PathBuf, String>,
    binary: HashMap<PathBuf, Vec<u8>>,
}

impl MemLoader {
    /// An empty set of files.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a file.
    pub fn with(mut self, path: impl AsRef<Path>, text: impl Into<String>) -> Self {
        self.files.insert(normalize(path.as_ref()), text.into());
        self
    }
    /// Adds a binary file (for `public "FILE";`).
    pub fn with_bytes(mut self, path: impl AsRef<Path>, bytes: impl Into<Vec<u8>>) -> Self {
        self.binary.insert(normalize(path.as_ref()), bytes.into());
        self
    }
}

impl Loader for MemLoader {
    fn load(&self, path: &Path) -> Result<String, String> {
        self.files
            .get(&normalize(path))
            .cloned()
            .ok_or_else(|| "No such file or directory".to_string())
    }
    fn load_bytes(&self, path: &Path) -> Result<Vec<u8>, String> {
        self.binary
            .get(&normalize(path))
            .cloned()
            .ok_or_else(|| "No such file or directory".to_string())
    }
}

/// Lexical path normalization (`a/./b/../c` → `a/c`), no file-system access.
pub fn normalize(p: &Path) -> PathBuf {
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) | Some(Component::Prefix(_)) => {}
                _ => out.push(c),
            },
            _ => out.push(c),
        }
    }
    out.iter().collect()
}

/// The parsed main file and every file it uses, directly or not.
#[derive(Debug, Clone)]
pub struct Program {
    /// Id of the main file.
    pub main_file: FileId,
    /// The main file.
    pub main: SourceFile,
    /// Used files, in load order.
    pub used: Vec<(FileId, SourceFile)>,
    /// The network's `public "FILE";` tensors, read.
    pub public: Option<PublicFile>,
}

/// A `public "FILE";` file: safetensors bytes both parties know.
#[derive(Debug, Clone)]
pub struct PublicFile {
    /// Its path, relative to the main file's directory resolved and normalized.
    pub path: PathBuf,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The statement.
    pub span: crate::diagnostics::Span,
}

struct State<'l> {
    loader: &'l dyn Loader,
    sources: Sources,
    diags: Vec<Diagnostic>,
    loaded: HashSet<PathBuf>,
    used: Vec<(FileId, SourceFile)>,
}

/// Parses `main_src` (named `main_path`) and, recursively, the files it uses.
/// Every source read is added to `sources` (also on error, for rendering).
pub fn load_program(
    main_path: &Path,
    main_src: &str,
    loader: &dyn Loader,
    sources: &mut Sources,
) -> Result<Program, Vec<Diagnostic>> {
    let main_norm = normalize(main_path);
    let mut st = State {
        loader,
        sources: std::mem::take(sources),
        diags: Vec::new(),
        loaded: HashSet::new(),
        used: Vec::new(),
    };
    let main_file = st.sources.add(main_path.display().to_string(), main_src);
    st.loaded.insert(main_norm.clone());
    let parsed = parse(main_src, main_file);
    let mut public = None;
    let main = match parsed {
        Ok(f) => {
            let mut stack = vec![main_norm.clone()];
            visit_uses(&mut st, &main_norm, &f, &mut stack);
            public = load_public(&mut st, &main_norm, &f);
            Some(f)
        }
        Err(d) => {
            st.diags.extend(d);
            None
        }
    };
    *sources = st.sources;
    match main {
        Some(main) if st.diags.is_empty() => Ok(Program {
            main_file,
            main,
            used: st.used,
            public,
        }),
        _ => Err(st.diags),
    }
}

/// Reads the file of the first network's `public "FILE";` (a second one is an error).
fn load_public(st: &mut State<'_>, main: &Path, file: &SourceFile) -> Option<PublicFile> {
    let dir = main.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut found: Option<PublicFile> = None;
    let stmts = file
        .networks
        .first()
        .map(|n| n.stmts.as_slice())
        .unwrap_or(&[]);
    for s in stmts {
        let ast::Stmt::Public { path, span } = s else {
            continue;
        };
        if let Some(prev) = &found {
            st.diags.push(
                Diagnostic::error("duplicate `public` file", *span)
                    .with_span_label("declared again here")
                    .with_label(prev.span, "first declared here")
                    .with_note("a network has one file of public tensors"),
            );
            continue;
        }
        let target = normalize(&dir.join(path));
        match st.loader.load_bytes(&target) {
            Ok(bytes) => {
                found = Some(PublicFile {
                    path: target,
                    bytes,
                    span: *span,
                })
            }
            Err(e) => st.diags.push(
                Diagnostic::error(format!("cannot read public file `{path}`"), *span)
                    .with_span_label(e)
                    .with_note(format!("looked for {}", target.display())),
            ),
        }
    }
    found
}

fn visit_uses(st: &mut State<'_>, path: &Path, file: &SourceFile, stack: &mut Vec<PathBuf>) {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    for u in &file.uses {
        let target = normalize(&dir.join(&u.path));
        if let Some(pos) = stack.iter().position(|p| *p == target) {
            let chain: Vec<String> = stack[pos..]
                .iter()
                .chain(std::iter::once(&target))
                .map(|p| p.display().to_string())
                .collect();
            st.diags.push(
                Diagnostic::error(format!("`use` cycle: {}", chain.join(" -> ")), u.span)
                    .with_span_label("this file is already being loaded")
                    .with_note("a file cannot use itself, directly or through other files"),
            );
            continue;
        }
        if st.loaded.contains(&target) {
            continue; // diamond: already loaded through another path
        }
        st.loaded.insert(target.clone());
        let text = match st.loader.load(&target) {
            Ok(t) => t,
            Err(e) => {
                st.diags.push(
                    Diagnostic::error(format!("cannot read used file `{}`", u.path), u.span)
                        .with_span_label(e)
                        .with_note(format!("looked for {}", target.display())),
                );
                continue;
            }
        };
        let id = st.sources.add(target.display().to_string(), text.clone());
        match parse(&text, id) {
            Ok(f) => {
                for n in &f.networks {
                    st.diags.push(
                        Diagnostic::error(
                            format!("used file `{}` defines a network", u.path),
                            n.name.span,
                        )
                        .with_span_label("networks cannot be used")
                        .with_label(u.span, "used here")
                        .with_note("a used file may only define blocks"),
                    );
                }
                stack.push(target.clone());
                visit_uses(st, &target, &f, stack);
                stack.pop();
                st.used.push((id, f));
            }
            Err(d) => st.diags.extend(d),
        }
    }
}

/// All blocks of a program, main file first.
pub fn all_blocks(p: &Program) -> impl Iterator<Item = &ast::BlockDef> {
    p.main
        .blocks
        .iter()
        .chain(p.used.iter().flat_map(|(_, f)| f.blocks.iter()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(loader: &MemLoader, main: &str) -> (Sources, Result<Program, Vec<Diagnostic>>) {
        let text = loader.load(Path::new(main)).expect("main exists");
        let mut s = Sources::new();
        let r = load_program(Path::new(main), &text, loader, &mut s);
        (s, r)
    }

    #[test]
    fn normalizes_paths() {
        assert_eq!(
            normalize(Path::new("a/./b/../c.gnet")),
            PathBuf::from("a/c.gnet")
        );
        assert_eq!(normalize(Path::new("../x")), PathBuf::from("../x"));
    }

    #[test]
    fn uses_resolve_relative_to_the_including_file() {
        let l = MemLoader::new()
            .with("m/main.gnet", r#"use "lib/a.gnet"; network n { }"#)
            .with("m/lib/a.gnet", r#"use "b.gnet"; block a(x) { return x; }"#)
            .with("m/lib/b.gnet", "block b(x) { return x; }");
        let (s, r) = load(&l, "m/main.gnet");
        let p = r.expect("loads");
        assert_eq!(p.used.len(), 2);
        assert_eq!(all_blocks(&p).count(), 2);
        assert_eq!(s.len(), 3);
        assert_eq!(s.name(FileId(2)), "m/lib/b.gnet");
    }

    #[test]
    fn diamonds_load_once() {
        let l = MemLoader::new()
            .with("main.gnet", r#"use "a.gnet"; use "b.gnet"; network n { }"#)
            .with("a.gnet", r#"use "c.gnet";"#)
            .with("b.gnet", r#"use "./c.gnet";"#)
            .with("c.gnet", "block c(x) { return x; }");
        let (_, r) = load(&l, "main.gnet");
        assert_eq!(r.expect("loads").used.len(), 3);
    }

    #[test]
    fn cycles_and_missing_files_are_reported() {
        let l = MemLoader::new()
            .with(
                "main.gnet",
                r#"use "a.gnet"; use "gone.gnet"; network n { }"#,
            )
            .with("a.gnet", r#"use "main.gnet";"#);
        let (_, r) = load(&l, "main.gnet");
        let d = r.unwrap_err();
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(
            d[0].message,
            "`use` cycle: main.gnet -> a.gnet -> main.gnet"
        );
        assert_eq!(d[1].message, "cannot read used file `gone.gnet`");
    }

    #[test]
    fn parse_errors_in_used_files_are_reported() {
        let l = MemLoader::new()
            .with("main.gnet", r#"use "a.gnet"; network n { }"#)
            .with("a.gnet", "block (");
        let (_, r) = load(&l, "main.gnet");
        let d = r.unwrap_err();
        assert_eq!(d[0].span.file, FileId(1));
    }
}
