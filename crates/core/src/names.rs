//! People's names as paperboy compares them: one author written "Zoë Müller", "Z. Muller" or
//! "zoe muller" is found by any of them. Case and accents do not count, dots and dashes are
//! spaces, and initials written apart ("J. R. R.") or together ("JRR", "J.R.R.") are the same.
//! A full first name is not matched to its initial: "J. Smith" is not "John Smith".

/// The form two names are compared in.
pub fn normalise(name: &str) -> String {
    let mut plain = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        match c {
            '.' | '-' | '‐' | '_' | ',' => plain.push(' '),
            c => match fold(c) {
                Some(s) => plain.push_str(s),
                None if c.is_alphanumeric() || c.is_whitespace() || c == '\'' => plain.push(c),
                None => {}
            },
        }
    }
    // Runs of one-letter words are initials: "j r r tolkien" -> "jrr tolkien".
    let mut out: Vec<String> = Vec::new();
    let mut initials = String::new();
    for word in plain.split_whitespace() {
        if word.chars().count() == 1 {
            initials.push_str(word);
            continue;
        }
        if !initials.is_empty() {
            out.push(std::mem::take(&mut initials));
        }
        out.push(word.to_owned());
    }
    if !initials.is_empty() {
        out.push(initials);
    }
    out.join(" ")
}

/// The unaccented letters of a lowercase Latin letter with a diacritic.
fn fold(c: char) -> Option<&'static str> {
    const TABLE: &[(&str, &str)] = &[
        ("àáâãäåāăą", "a"),
        ("çćĉċč", "c"),
        ("ďđ", "d"),
        ("èéêëēĕėęě", "e"),
        ("ĝğġģ", "g"),
        ("ĥħ", "h"),
        ("ìíîïĩīĭįı", "i"),
        ("ĵ", "j"),
        ("ķ", "k"),
        ("ĺļľŀł", "l"),
        ("ñńņňŉ", "n"),
        ("òóôõöøōŏő", "o"),
        ("ŕŗř", "r"),
        ("śŝşšș", "s"),
        ("ţťŧț", "t"),
        ("ùúûüũūŭůűų", "u"),
        ("ŵ", "w"),
        ("ýÿŷ", "y"),
        ("źżž", "z"),
    ];
    match c {
        'ß' => Some("ss"),
        'æ' => Some("ae"),
        'œ' => Some("oe"),
        'þ' => Some("th"),
        _ => TABLE
            .iter()
            .find(|(accented, _)| accented.contains(c))
            .map(|(_, plain)| *plain),
    }
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn case_accents_dots_and_initials_do_not_count() {
        assert_eq!(normalise("Zoë Müller"), "zoe muller");
        assert_eq!(normalise("ZOE  MULLER"), "zoe muller");
        assert_eq!(normalise("J. R. R. Tolkien"), "jrr tolkien");
        assert_eq!(normalise("J.R.R. Tolkien"), normalise("JRR Tolkien"));
        assert_eq!(normalise("Jean-Luc Picard"), "jean luc picard");
        assert_eq!(normalise("Łukasz Kaiser"), "lukasz kaiser");
        assert_eq!(normalise("Tolkien, J. R. R."), "tolkien jrr");
    }

    #[test]
    fn a_first_name_is_not_its_initial() {
        assert_ne!(normalise("J. Smith"), normalise("John Smith"));
        assert_eq!(normalise("李飞飞"), "李飞飞");
    }
}
