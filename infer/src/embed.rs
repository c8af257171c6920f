//! A network's source carried inside its compiled `.gcirc` (the `garnet.network`
//! annotation), so the compiled file alone can bind weights by layer name, read
//! input files by tensor shape and format, and decode outputs to class labels and
//! tensors: everything a `.gnet` gives, without recompiling.
//!
//! The files are stored relative to their common directory, so compiling the same
//! sources from another directory gives the same bytes (and digest).

use anyhow::{Context, Result, anyhow};
use garnet_circuits::format::gcirc::Annotation;
use garnet_compiler::ir::Network;
use garnet_compiler::resolve::MemLoader;
use garnet_compiler::{Sources, render};
use std::path::{Path, PathBuf};

/// The annotation key.
pub const KEY: &str = "garnet.network";

/// The source files of a network: the main file first, then every `use`d file,
/// and its `public "FILE";` tensors (pruning masks, projection matrices), which the
/// digest then covers too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkSource {
    /// (path relative to the files' common directory, text), main file first.
    pub files: Vec<(String, String)>,
    /// The public file (path relative to the same directory, bytes), if any.
    pub public: Option<(String, Vec<u8>)>,
}

impl NetworkSource {
    /// The files the front end read (`sources` after `frontend_file`), without a
    /// public file.
    pub fn from_sources(sources: &Sources) -> NetworkSource {
        Self::from_parts(sources, None)
    }

    /// The files the front end read and the network's public file (`net.public`).
    pub fn from_network(sources: &Sources, net: &Network) -> NetworkSource {
        Self::from_parts(
            sources,
            net.public.as_ref().map(|(p, b)| (p.as_str(), &b[..])),
        )
    }

    fn from_parts(sources: &Sources, public: Option<(&str, &[u8])>) -> NetworkSource {
        let mut seen: Vec<(PathBuf, String)> = Vec::new();
        for i in 0..sources.len() {
            let id = garnet_compiler::FileId(i as u32);
            let p = garnet_compiler::resolve::normalize(Path::new(sources.name(id)));
            if !seen.iter().any(|(q, _)| *q == p) {
                seen.push((p, sources.text(id).to_string()));
            }
        }
        let public = public.map(|(p, b)| (garnet_compiler::resolve::normalize(Path::new(p)), b));
        let common = common_dir(
            seen.iter()
                .map(|(p, _)| p.as_path())
                .chain(public.as_ref().map(|(p, _)| p.as_path())),
        );
        let rel = |p: &Path| {
            let rel = p.strip_prefix(&common).unwrap_or(p);
            rel.to_string_lossy().replace('\\', "/")
        };
        let files = seen.iter().map(|(p, t)| (rel(p), t.clone())).collect();
        let public = public.map(|(p, b)| (rel(&p), b.to_vec()));
        NetworkSource { files, public }
    }

    /// The annotation holding these files (JSON: `{"files": [[path, text], …]}`).
    pub fn annotation(&self) -> Annotation {
        let mut v = serde_json::json!({ "files": self.files });
        if let Some((p, b)) = &self.public {
            v["public"] = serde_json::json!([p, hex(b)]);
        }
        Annotation {
            key: KEY.to_string(),
            value: v.to_string().into_bytes(),
        }
    }

    /// The files of a `garnet.network` annotation, if `annotations` has one.
    pub fn from_annotations(annotations: &[Annotation]) -> Result<Option<NetworkSource>> {
        let Some(a) = annotations.iter().find(|a| a.key == KEY) else {
            return Ok(None);
        };
        let v: serde_json::Value = serde_json::from_slice(&a.value)
            .with_context(|| format!("the `{KEY}` annotation is not JSON"))?;
        let bad = || anyhow!("the `{KEY}` annotation has no `files` list of [path, text] pairs");
        let files = v["files"]
            .as_array()
            .ok_or_else(bad)?
            .iter()
            .map(|f| match f.as_array().map(Vec::as_slice) {
                Some([p, t]) => Ok((
                    p.as_str().ok_or_else(bad)?.to_string(),
                    t.as_str().ok_or_else(bad)?.to_string(),
                )),
                _ => Err(bad()),
            })
            .collect::<Result<Vec<_>>>()?;
        if files.is_empty() {
            return Err(bad());
        }
        let public = match &v["public"] {
            serde_json::Value::Null => None,
            p => {
                let bad = || {
                    anyhow!(
                        "the `{KEY}` annotation has a bad `public` entry (expected [path, hex bytes])"
                    )
                };
                let [path, bytes] = p.as_array().map(Vec::as_slice).ok_or_else(bad)? else {
                    return Err(bad());
                };
                let bytes = unhex(bytes.as_str().ok_or_else(bad)?).ok_or_else(bad)?;
                Some((path.as_str().ok_or_else(bad)?.to_string(), bytes))
            }
        };
        Ok(Some(NetworkSource { files, public }))
    }

    /// Runs the front end on the stored files; `origin` names the file they came
    /// from in error messages.
    pub fn network(&self, origin: &Path) -> Result<Network> {
        let mut loader = MemLoader::new();
        for (p, t) in &self.files {
            loader = loader.with(p, t.clone());
        }
        if let Some((p, b)) = &self.public {
            loader = loader.with_bytes(p, b.clone());
        }
        let (main, text) = &self.files[0];
        let mut sources = Sources::new();
        garnet_compiler::frontend_with(Path::new(main), text, &loader, &mut sources).map_err(|d| {
            anyhow!(
                "the network stored in {} has errors:\n{}",
                origin.display(),
                render(&d, &sources).trim_end()
            )
        })
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The deepest directory holding every path.
fn common_dir<'a>(paths: impl Iterator<Item = &'a Path>) -> PathBuf {
    let mut common: Option<PathBuf> = None;
    for p in paths {
        let dir = p.parent().unwrap_or(Path::new(""));
        common = Some(match common {
            None => dir.to_path_buf(),
            Some(c) => c
                .components()
                .zip(dir.components())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a)
                .collect(),
        });
    }
    common.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_round_trip_relative_to_their_directory() {
        let mut s = Sources::new();
        s.add("nets/a/main.gnet", "main");
        s.add("nets/lib/x.gnet", "x");
        let ns = NetworkSource::from_sources(&s);
        assert_eq!(
            ns.files,
            vec![
                ("a/main.gnet".to_string(), "main".to_string()),
                ("lib/x.gnet".to_string(), "x".to_string())
            ]
        );
        let back = NetworkSource::from_annotations(&[ns.annotation()]).unwrap();
        assert_eq!(back, Some(ns));
        assert_eq!(NetworkSource::from_annotations(&[]).unwrap(), None);
        let with_public =
            NetworkSource::from_parts(&s, Some(("nets/a/p.safetensors", &[0, 1, 254])));
        assert_eq!(
            with_public.public,
            Some(("a/p.safetensors".to_string(), vec![0, 1, 254]))
        );
        let back = NetworkSource::from_annotations(&[with_public.annotation()]).unwrap();
        assert_eq!(back, Some(with_public));
        let bad = Annotation {
            key: KEY.into(),
            value: b"{\"files\": 3}".to_vec(),
        };
        let e = NetworkSource::from_annotations(&[bad]).unwrap_err();
        assert!(e.to_string().contains("no `files` list"), "{e}");
    }
}
