//! The parsers on the real files in `shared/data` (skipped with a message where it is absent).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use paperboy_core::{DailyEntry, Paper};
use paperboy_ingest::{
    atom, oai, read_bytes, read_path, Format, IngestError, Record, RecordError, RejectReason, Sink,
};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

// The files of the shared data that more than one test reads.
const ATOM: &str = "fixtures/atom_api_query_all_science_2019-08-10.xml";
const OAI: &str = "fixtures/oaipmh_listrecords_arXiv_plasm-ph_2026-01-05.xml";
const KAGGLE: &str = "fixtures/kaggle_arxiv_metadata_oai_snapshot_first200.jsonl";
const HF_RAW: &str = "hf-daily-papers/raw_daily_papers_api_json.tar.gz";
const HF_FLAT: &str = "hf-daily-papers/hf_daily_papers_2024-05_2026-08.jsonl.gz";
const LISTINGS: &str = "arxiv-listings/sample_1000.jsonl";

fn data(rel: &str) -> Option<PathBuf> {
    let p = Path::new(DATA).join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "skipping: {} is absent (the shared data folder is not here)",
            p.display()
        );
        None
    }
}

/// The shared data files `rels`, or None (the test skips) where any of them is absent.
fn data_all<const N: usize>(rels: [&str; N]) -> Option<[PathBuf; N]> {
    let paths = rels.map(data);
    paths
        .iter()
        .all(Option::is_some)
        .then(|| paths.map(Option::unwrap))
}

/// Records, errors and progress reports, in order.
#[derive(Default)]
struct Collect {
    records: Vec<Record>,
    errors: Vec<RecordError>,
    progress: Vec<u64>,
}

impl Sink for Collect {
    fn record(&mut self, item: Result<Record, RecordError>) {
        match item {
            Ok(r) => self.records.push(r),
            Err(e) => self.errors.push(e),
        }
    }
    fn progress(&mut self, bytes_read: u64) {
        self.progress.push(bytes_read);
    }
}

impl Collect {
    /// Each rejected record's location and reason, in order.
    fn rejected(&self) -> Vec<(&str, RejectReason)> {
        self.errors
            .iter()
            .map(|e| (e.location.as_str(), e.reason))
            .collect()
    }

    fn papers(&self) -> Vec<&Paper> {
        self.records.iter().map(Record::paper).collect()
    }
    fn dailies(&self) -> Vec<(&DailyEntry, &Paper)> {
        self.records
            .iter()
            .map(|r| match r {
                Record::Daily { entry, paper } => (entry, paper),
                Record::Paper(p) => panic!("expected a daily record, got paper {}", p.id),
            })
            .collect()
    }
}

fn read(path: &Path) -> Collect {
    let mut c = Collect::default();
    read_path(path, &mut c).unwrap_or_else(|e| panic!("{e}"));
    c
}

/// [`read`], which must find `count` records and reject none.
fn read_clean(path: &Path, count: usize) -> Collect {
    let c = read(path);
    assert_eq!(c.errors, [], "no rejections in {}", path.display());
    assert_eq!(c.records.len(), count, "records in {}", path.display());
    c
}

/// The shared data file `rel` (None where it is absent) and its records, read by [`read_clean`].
fn clean_data(rel: &str, count: usize) -> Option<(PathBuf, Collect)> {
    let path = data(rel)?;
    let c = read_clean(&path, count);
    Some((path, c))
}

/// When a paper was first published, in RFC 3339.
fn published(p: &Paper) -> String {
    p.published.expect("a publication date").to_rfc3339()
}

/// A paper's references elsewhere: (DOI, journal reference, comment).
fn refs(p: &Paper) -> (Option<&str>, Option<&str>, Option<&str>) {
    (
        p.doi.as_deref(),
        p.journal_ref.as_deref(),
        p.comment.as_deref(),
    )
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn names(p: &Paper) -> Vec<&str> {
    p.authors.iter().map(|a| a.name.as_str()).collect()
}

#[test]
fn atom_fixture_all_ten_entries() {
    let Some(path) = data(ATOM) else {
        return;
    };
    let xml = std::fs::read_to_string(&path).unwrap();
    let got: Vec<Paper> = atom::parse_feed(&xml)
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let ids: Vec<(String, Option<u32>)> =
        got.iter().map(|p| (p.id.to_string(), p.version)).collect();
    let expected = [
        "1501.05039",
        "1503.01162",
        "quant-ph/0210005",
        "0808.0631",
        "0808.0638",
        "0808.0639",
        "0705.1367",
        "1802.03292",
        "physics/0507092",
        "1312.7288",
    ];
    assert_eq!(
        ids,
        expected
            .iter()
            .map(|id| (id.to_string(), Some(1)))
            .collect::<Vec<_>>()
    );

    let p = &got[1];
    assert_eq!(
        p.title,
        "Report on a Boston University Conference December 7-8, 2012 on 'How Can the History and Philosophy of Science \
         Contribute to Contemporary U.S. Science Teaching?'"
    );
    assert_eq!(names(p), ["Peter Garik", "Yann Benétreau-Dupin"]);
    assert_eq!(
        refs(p),
        (
            Some("10.1007/s11191-014-9716-8"),
            Some("Science & Education, September 2014, 23(9): 1853-1873"),
            Some("Conference funded by NSF grant REESE-1205273. 31 pages")
        )
    );
    assert_eq!(p.primary_category(), Some("physics.ed-ph"));
    assert_eq!(
        p.categories,
        ["physics.ed-ph", "physics.hist-ph", "physics.soc-ph"]
    );
    assert!(p.summary.starts_with("This is an editorial report"));
    assert!(p.summary.ends_with("and science classrooms."));
    assert!(p.summary.contains('\n'), "abstracts keep their line breaks");

    let q = &got[2];
    assert_eq!(q.primary_category(), Some("quant-ph"));
    assert_eq!(
        refs(q),
        (None, None, Some("6 pages, invited contribution to QCMC 2002, a considerably abbreviated version of quant-ph/0208078"))
    );
    assert_eq!(published(q), "2002-10-01T13:23:14+00:00");

    assert_eq!(names(&got[3]), ["Hans R. Künsch"]);
    assert_eq!(
        got[3].journal_ref.as_deref(),
        Some("Statistical Science 2008, Vol. 23, No. 1, 65-68")
    );
    assert_eq!(
        got[7].categories,
        ["cs.LO", "03B70, 68Q99", "F.4.1; F.4.m; K.2"]
    );
    assert_eq!(names(&got[8]), ["G. Giacomelli", "R. Giacomelli"]);
    assert_eq!(got[8].primary_category(), Some("physics.soc-ph"));

    // The same through the generic reader, detected from content.
    let c = read_clean(&path, 10);
    assert_eq!(c.papers()[1], &got[1]);
}

#[test]
fn oai_fixture_three_records() {
    let Some(path) = data(OAI) else {
        return;
    };
    let xml = std::fs::read_to_string(&path).unwrap();
    let page = oai::parse_list_records(&xml).unwrap();
    assert_eq!(
        (page.resumption_token.as_deref(), page.error.as_ref()),
        (None, None)
    );
    let got: Vec<Paper> = page.records.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(
        got.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["2504.11237", "2508.21012", "2510.07502"]
    );

    let p = &got[0];
    assert_eq!(p.title, "Periodic table for highly charged ions");
    assert_eq!(
        names(p),
        ["Chunhai Lyu", "Christoph H. Keitel", "Zoltán Harman"]
    );
    assert_eq!(
        p.categories,
        [
            "physics.atom-ph",
            "physics.optics",
            "physics.plasm-ph",
            "quant-ph"
        ]
    );
    assert!(
        p.summary
            .starts_with("Mendeleev's periodic table successfully groups"),
        "{}",
        &p.summary[..40]
    );
    assert!(p.summary.contains("``Coulomb splittings''"));
    assert!(!p.summary.contains("&#39;"));
    assert_eq!(published(p), "2025-04-15T00:00:00+00:00");
    assert_eq!(p.updated.unwrap().to_rfc3339(), "2026-01-05T00:00:00+00:00");
    assert_eq!(p.version, None);
    assert_eq!(
        refs(p),
        (
            Some("10.1103/bppp-53g1"),
            Some("Phys. Rev. Research 7, L042071 (2025)"),
            Some("5 pages")
        )
    );
    assert_eq!(
        p.license.as_deref(),
        Some("http://creativecommons.org/publicdomain/zero/1.0/")
    );

    assert_eq!(names(&got[1]), ["Magnus F Ivarsen"]);
    assert_eq!(got[1].journal_ref, None);
    assert!(got[1].summary.contains("the system's transition"));
    assert_eq!(got[2].authors.len(), 12);
    assert_eq!(got[2].authors[8].name, "D. O'Donnell");
    assert_eq!(got[2].primary_category(), Some("physics.plasm-ph"));

    read_clean(&path, 3);
}

#[test]
fn kaggle_first_200() {
    let Some((_, c)) = clean_data(KAGGLE, 200) else {
        return;
    };
    let papers = c.papers();
    let ids: Vec<String> = papers.iter().map(|p| p.id.to_string()).collect();
    assert_eq!(
        ids,
        (1..=200)
            .map(|i| format!("0704.{i:04}"))
            .collect::<Vec<_>>()
    );

    let p = papers[0];
    assert_eq!(p.version, Some(2));
    assert_eq!(
        names(p),
        ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]
    );
    assert_eq!(
        p.title,
        "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    );
    assert_eq!(published(p), "2007-04-02T19:18:42+00:00");
    assert_eq!(p.updated.unwrap().to_rfc3339(), "2007-07-24T20:10:27+00:00");
    assert_eq!(
        refs(p),
        (
            Some("10.1103/PhysRevD.76.013009"),
            Some("Phys.Rev.D76:013009,2007"),
            Some("37 pages, 15 figures; published version")
        )
    );
    assert_eq!(p.categories, ["hep-ph"]);
    assert!(p.summary.starts_with("A fully differential calculation"));
    assert!(p.summary.ends_with("judicious\nselection of events."));

    let p = papers[1];
    assert_eq!(names(p), ["Ileana Streinu", "Louis Theran"]);
    assert_eq!(p.categories, ["math.CO", "cs.CG"]);
    assert_eq!(
        p.license.as_deref(),
        Some("http://arxiv.org/licenses/nonexclusive-distrib/1.0/")
    );
    assert_eq!(p.updated.unwrap().to_rfc3339(), "2008-12-13T17:26:00+00:00");

    assert!(papers.iter().all(|p| p.version.is_some()
        && p.published.is_some()
        && !p.authors.is_empty()
        && !p.categories.is_empty()));
    assert!(papers
        .iter()
        .all(|p| !p.title.contains('\n') && !p.title.contains("  ")));
}

#[test]
fn hf_raw_archive_every_day() {
    let Some((path, c)) = clean_data(HF_RAW, 9_881) else {
        return;
    };
    let dailies = c.dailies();
    let mut per_day: BTreeMap<NaiveDate, Vec<&DailyEntry>> = BTreeMap::new();
    for (e, p) in &dailies {
        assert_eq!(e.paper_id, p.id);
        assert_eq!(p.daily_date, Some(e.day));
        assert_eq!(Some(e.upvotes), p.hf_upvotes);
        per_day.entry(e.day).or_default().push(e);
    }
    assert_eq!(per_day.len(), 580);
    assert_eq!(per_day.keys().next(), Some(&day("2024-05-27")));
    assert_eq!(per_day.keys().last(), Some(&day("2026-08-21")));
    for (d, entries) in &per_day {
        let mut pos: Vec<u32> = entries.iter().map(|e| e.position).collect();
        pos.sort();
        assert_eq!(
            pos,
            (0..entries.len() as u32).collect::<Vec<_>>(),
            "positions of {d}"
        );
    }

    // The 21 days stored as Python-repr strings, and the wrapped 2025-01-10 (9 items).
    let repr_days: Vec<_> = per_day
        .range(day("2024-12-11")..=day("2025-01-09"))
        .collect();
    assert_eq!(repr_days.len(), 21);
    assert!(repr_days.iter().all(|(_, e)| !e.is_empty()));
    let repr_items: usize = repr_days.iter().map(|(_, e)| e.len()).sum();
    assert!(repr_items > 200, "{repr_items}");
    assert_eq!(per_day[&day("2025-01-10")].len(), 9);
    let first_of = |d: &str| {
        *dailies
            .iter()
            .find(|(e, _)| e.day == day(d) && e.position == 0)
            .unwrap_or_else(|| panic!("no first item on {d}"))
    };
    let (e, p) = first_of("2024-12-11");
    assert_eq!(p.id.as_str(), "2412.07730");
    assert_eq!(p.authors[0].name, "Zongyu Lin");
    assert_eq!(
        p.authors[0].hf_id.as_deref(),
        Some("67590ae29500a8d4bb970a6b")
    );
    assert!(e.thumbnail.is_some());
    let (_, p) = first_of("2025-01-10");
    assert_eq!(p.id.as_str(), "2501.05441");
    assert_eq!(p.authors[0].name, "Yiwen Huang");

    // One ordinary day in detail.
    let (e, p) = first_of("2025-06-10");
    assert_eq!(p.id.as_str(), "2506.08007");
    assert_eq!(p.title, "Reinforcement Pre-Training");
    assert_eq!((e.upvotes, e.num_comments), (97, 3));
    assert_eq!(
        e.submitted_by.as_ref().map(|s| s.name.as_str()),
        Some("unilm")
    );
    assert_eq!(
        p.submitted_on_daily_by
            .as_ref()
            .map(|s| (s.name.as_str(), s.fullname.as_deref())),
        Some(("unilm", Some("Li Dong")))
    );
    assert_eq!(p.authors.len(), 7);
    assert_eq!(p.authors[6].name, "Furu Wei");
    assert!(p.ai_keywords.iter().any(|k| k == "next-token prediction"));
    assert_eq!(
        p.hf_discussion_id.as_deref(),
        Some("684794553ec10bdd8ab4de21")
    );
    assert_eq!(published(p), "2025-06-09T17:59:53+00:00");
    assert!(p.extra.contains_key("mediaUrls"));
    assert!(e.extra.contains_key("mediaUrls"));
    assert_eq!(
        e.thumbnail.as_deref(),
        Some("https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2506.08007.png")
    );

    // Unmodelled keys pass through: organization objects, the GitHub repo's adder.
    assert_eq!(
        dailies
            .iter()
            .filter(|(_, p)| p.extra.contains_key("organization"))
            .count(),
        2_912
    );
    assert_eq!(
        dailies
            .iter()
            .filter(|(e, _)| e.extra.contains_key("organization"))
            .count(),
        2_912
    );
    assert!(dailies
        .iter()
        .any(|(_, p)| p.extra.contains_key("githubRepoAddedBy")));
    assert_eq!(
        dailies
            .iter()
            .filter(|(_, p)| p.github_repo.is_some())
            .count(),
        3_692
    );
    assert_eq!(
        dailies
            .iter()
            .filter(|(e, _)| e.thumbnail.is_some())
            .count(),
        9_881,
        "thumbnail or mediaUrl on every item"
    );

    let size = std::fs::metadata(&path).unwrap().len();
    assert_eq!(
        c.progress.last(),
        Some(&size),
        "progress ends at the compressed file size"
    );
}

#[test]
fn hf_flattened_agrees_with_the_raw_archive() {
    let Some([flat, raw]) = data_all([HF_FLAT, HF_RAW]) else {
        return;
    };
    let c = read_clean(&flat, 9_881);
    let dailies = c.dailies();
    assert_eq!(
        dailies
            .iter()
            .map(|(e, _)| e.day)
            .collect::<BTreeSet<_>>()
            .len(),
        580
    );
    assert_eq!(
        dailies
            .iter()
            .map(|(_, p)| p.id.clone())
            .collect::<BTreeSet<_>>()
            .len(),
        9_877
    );
    let size = std::fs::metadata(&flat).unwrap().len();
    assert!(
        c.progress.len() >= 2,
        "progress every few MB: {:?}",
        c.progress
    );
    assert!(c.progress.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(c.progress.last(), Some(&size));

    // Both files describe the same (day, paper) rows with the same positions and counts.
    let key = |e: &DailyEntry, p: &Paper| {
        (
            e.day,
            e.position,
            e.paper_id.to_string(),
            e.upvotes,
            e.num_comments,
            names(p).join("|"),
        )
    };
    let raw_c = read(&raw);
    let mut a: Vec<_> = dailies.iter().map(|(e, p)| key(e, p)).collect();
    let mut b: Vec<_> = raw_c.dailies().iter().map(|(e, p)| key(e, p)).collect();
    a.sort();
    b.sort();
    assert_eq!(a.len(), b.len());
    assert!(
        a == b,
        "first difference: {:?}",
        a.iter().zip(&b).find(|(x, y)| x != y)
    );
    // The flattened title is the item's own title.
    let raw_titles: HashMap<_, _> = raw_c
        .dailies()
        .iter()
        .map(|(e, _)| ((e.day, e.paper_id.clone()), e.title.clone()))
        .collect();
    assert!(dailies
        .iter()
        .all(|(e, _)| raw_titles[&(e.day, e.paper_id.clone())] == e.title));
    let (_, p) = dailies[0];
    assert_eq!(p.id.as_str(), "2405.15738");
    assert_eq!(
        p.title,
        "ConvLLaVA: Hierarchical Backbones as Visual Encoder for Large Multimodal Models"
    );
    assert_eq!(p.hf_upvotes, Some(32));
}

#[test]
fn arxiv_listings_sample() {
    let Some((_, c)) = clean_data(LISTINGS, 1000) else {
        return;
    };
    let papers = c.papers();
    let p = papers[0];
    assert_eq!(p.id.as_str(), "2310.15741");
    assert_eq!(p.title, "Interpretable Medical Image Classification using Prototype Learning and Privileged Information");
    assert_eq!(names(p), ["Luisa Gallee", "Meinrad Beer", "Michael Goetz"]);
    assert_eq!(p.categories, ["cs.CV", "cs.AI"]);
    assert_eq!(
        p.comment.as_deref(),
        Some("MICCAI 2023 Medical Image Computing and Computer Assisted Intervention")
    );
    assert_eq!(published(p), "2026-02-25T00:00:00+00:00");
    assert!(papers
        .iter()
        .all(|p| p.published.is_some() && !p.categories.is_empty() && !p.summary.is_empty()));
    assert_eq!(
        papers
            .iter()
            .map(|p| p.id.clone())
            .collect::<BTreeSet<_>>()
            .len(),
        1000
    );
}

/// The first `n` lines of a file.
fn lines(path: &Path, n: usize) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .take(n)
        .map(str::to_owned)
        .collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

#[test]
fn a_malformed_line_is_reported_and_skipped() {
    let Some(path) = data(LISTINGS) else {
        return;
    };
    let mut l = lines(&path, 12);
    l[4] = l[4][..l[4].len() / 2].to_string(); // cut in half
    l[8] = l[8].replacen("\"id\": \"", "\"id\": \"x", 1); // unparseable id
    l.insert(6, String::new()); // a blank line is no record and no error
    let text = l.join("\n") + "\n";

    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("listing.jsonl", text.clone().into_bytes()),
        ("listing.jsonl.gz", gzip(text.as_bytes())),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, &bytes).unwrap();
        let c = read(&file);
        assert_eq!(c.records.len(), 10, "{name}");
        assert_eq!(
            c.rejected(),
            [
                ("line 5", RejectReason::MalformedJson),
                ("line 10", RejectReason::InvalidId)
            ],
            "{name}"
        );
        assert_eq!(c.progress.last(), Some(&(bytes.len() as u64)));
    }
}

#[test]
fn archives_in_memory_with_odd_members() {
    let Some([sample, kaggle]) = data_all([LISTINGS, KAGGLE]) else {
        return;
    };
    let listing = lines(&sample, 3).join("\n");
    let mut kaggle_lines = lines(&kaggle, 4);
    kaggle_lines[1] = "{\"id\": ".to_string();
    let kaggle = kaggle_lines.join("\n");
    let day = r#"[{"paper": {"id": "2501.00001", "title": "A", "upvotes": 2}, "numComments": 1}, "{'paper': {'id': '2501.00002', 'title': 'B', 'upvotes': 1}}"]"#;

    let mut tar = tar::Builder::new(Vec::new());
    let mut add = |path: &str, bytes: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, path, bytes).unwrap();
    };
    add("d/README.txt", b"not data");
    add("d/._listing.jsonl", b"\x00\x05\x16\x07 resource fork");
    add("d/listing.jsonl.gz", &gzip(listing.as_bytes()));
    add("d/kaggle.jsonl", kaggle.as_bytes());
    add("d/2025-01-02.json", day.as_bytes());
    add("d/empty.json", b"");
    let tgz = gzip(&tar.into_inner().unwrap());

    let mut c = Collect::default();
    read_bytes("demo.tgz", &tgz, &mut c).unwrap();
    let ids: Vec<_> = c.records.iter().map(|r| r.paper().id.to_string()).collect();
    assert_eq!(ids.len(), 3 + 3 + 2, "{ids:?}");
    assert_eq!(ids[6..], ["2501.00001", "2501.00002"]);
    assert_eq!(
        c.rejected(),
        [
            ("README.txt", RejectReason::UnsupportedFormat),
            ("kaggle.jsonl line 2", RejectReason::MalformedJson)
        ]
    );
    assert!(c.errors[0].detail.contains("unrecognised format"));
    let day2 = c.records[7].entry().unwrap();
    assert_eq!(
        (day2.day, day2.position),
        (NaiveDate::from_ymd_opt(2025, 1, 2).unwrap(), 1)
    );
    assert_eq!(c.progress.last(), Some(&(tgz.len() as u64)));

    // Plain Vec<Result<…>> is a sink too.
    let mut v: Vec<Result<Record, RecordError>> = Vec::new();
    read_bytes("demo.tgz", &tgz, &mut v).unwrap();
    assert_eq!(v.len(), 10);
}

#[test]
fn whole_file_failures_name_the_file() {
    let mut c = Collect::default();
    let e = read_path(Path::new("/nonexistent/papers.jsonl"), &mut c).unwrap_err();
    assert!(matches!(e, IngestError::Open { .. }));
    assert!(e.to_string().contains("/nonexistent/papers.jsonl"), "{e}");

    let e = read_bytes("papers.jsonl.gz", b"{\"id\": \"2501.00001\"}\n", &mut c).unwrap_err();
    assert!(matches!(e, IngestError::NotGzip { .. }), "{e}");
    assert!(e.to_string().contains("papers.jsonl.gz"));

    let e = read_bytes("notes.txt", b"Dear diary", &mut c).unwrap_err();
    assert!(matches!(e, IngestError::UnknownFormat { .. }), "{e}");
    assert!(e.to_string().contains("notes.txt"));

    let e = read_bytes("page.xml", b"<OAI-PMH><ListRecords><record>", &mut c).unwrap_err();
    assert!(matches!(e, IngestError::Xml { .. }), "{e}");

    // A gzip stream cut short fails as a read error naming the file, after the records before the cut.
    let Some(path) = data(HF_FLAT) else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let mut c = Collect::default();
    let e = read_bytes("hf.jsonl.gz", &bytes[..bytes.len() / 2], &mut c).unwrap_err();
    assert!(matches!(e, IngestError::Read { .. }), "{e}");
    assert!(e.to_string().contains("hf.jsonl.gz"), "{e}");
    assert!(c.records.len() > 3000, "{}", c.records.len());
    assert!(c.records.iter().all(|r| r.entry().is_some()));

    assert!(read_bytes("empty.jsonl", b"\n\n", &mut c).is_ok());
}

#[test]
fn detection_on_the_real_files() {
    let cases = [
        (ATOM, Format::ArxivAtom),
        (OAI, Format::OaiPmh),
        (KAGGLE, Format::KaggleSnapshot),
        (LISTINGS, Format::ArxivListingsJsonl),
    ];
    for (rel, format) in cases {
        let Some(path) = data(rel) else { return };
        let head: Vec<u8> = std::fs::read(&path)
            .unwrap()
            .into_iter()
            .take(4096)
            .collect();
        assert_eq!(
            paperboy_ingest::detect_format("unnamed", &head),
            Some(format),
            "{rel}"
        );
    }
}

#[test]
fn arxiv_listings_whole_file() {
    let Some(path) = data("arxiv-listings/arxiv_listings_2025-03_2026-07.jsonl.gz") else {
        return;
    };
    #[derive(Default)]
    struct Count {
        papers: usize,
        errors: Vec<RecordError>,
        progress: Vec<u64>,
        primary: HashMap<String, usize>,
    }
    impl Sink for Count {
        fn record(&mut self, item: Result<Record, RecordError>) {
            match item {
                Ok(r) => {
                    self.papers += 1;
                    *self
                        .primary
                        .entry(r.paper().primary_category().unwrap_or("").to_string())
                        .or_default() += 1;
                }
                Err(e) => self.errors.push(e),
            }
        }
        fn progress(&mut self, bytes_read: u64) {
            self.progress.push(bytes_read);
        }
    }
    let mut c = Count::default();
    read_path(&path, &mut c).unwrap();
    assert_eq!(c.errors, []);
    assert_eq!(c.papers, 74_728);
    // SOURCE.txt: primary cs.CV 35,273, cs.CL 20,699, cs.AI 11,722.
    assert_eq!(
        (c.primary["cs.CV"], c.primary["cs.CL"], c.primary["cs.AI"]),
        (35_273, 20_699, 11_722)
    );
    assert!(
        c.progress.len() >= 10,
        "44 MB reported every few MB: {}",
        c.progress.len()
    );
    assert!(
        c.progress.windows(2).all(|w| w[1] - w[0] <= 8 << 20),
        "no gap over 8 MB"
    );
}
