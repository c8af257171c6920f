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

/// The source files of a network: the main file first, then every `use`d file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkSource {
    /// (path relative to the files' common directory, text), main file first.
    pub files: Vec<(String, String)>,
}

impl NetworkSource {
    /// The files the front end read (`sources` after `frontend_file`).
    pub fn from_sources(sources: &Sources) -> NetworkSource {
        let mut seen: Vec<(PathBuf, String)> = Vec::new();
        for i in 0..sources.len() {
            let id = garnet_compiler::FileId(i as u32);
            let p = garnet_compiler::resolve::normalize(Path::new(sources.name(id)));
            if !seen.iter().any(|(q, _)| *q == p) {
                seen.push((p, sources.text(id).to_string()));
            }
        }
        let common = common_dir(seen.iter().map(|(p, _)| p.as_path()));
        let files = seen
            .into_iter()
            .map(|(p, t)| {
                let rel = p.strip_prefix(&common).unwrap_or(&p);
                (rel.to_string_lossy().replace('\\', "/"), t)
            })
            .collect();
        NetworkSource { files }
    }

    /// The annotation holding these files (JSON: `{"files": [[path, text], …]}`).
    pub fn annotation(&self) -> Annotation {
        let v = serde_json::json!({ "files": self.files });
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
        Ok(Some(NetworkSource { files }))
    }

    /// Runs the front end on the stored files; `origin` names the file they came
    /// from in error messages.
    pub fn network(&self, origin: &Path) -> Result<Network> {
        let mut loader = MemLoader::new();
        for (p, t) in &self.files {
            loader = loader.with(p, t.clone());
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
        let bad = Annotation {
            key: KEY.into(),
            value: b"{\"files\": 3}".to_vec(),
        };
        let e = NetworkSource::from_annotations(&[bad]).unwrap_err();
        assert!(e.to_string().contains("no `files` list"), "{e}");
    }
}
