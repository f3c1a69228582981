//! TeX in titles and abstracts made readable as plain text, for places that cannot typeset it
//! (mail, feeds): inside `$...$`, Greek letters and common symbols become their Unicode characters,
//! digit and sign sub- and superscripts become Unicode sub- and superscripts (others are written
//! `x_(ij)`, `x^(n+1)`), font commands keep their argument, and the dollars go. Text outside math
//! is left alone.

const SYMBOLS: &[(&str, &str)] = &[
    ("alpha", "α"),
    ("beta", "β"),
    ("gamma", "γ"),
    ("delta", "δ"),
    ("epsilon", "ε"),
    ("varepsilon", "ε"),
    ("zeta", "ζ"),
    ("eta", "η"),
    ("theta", "θ"),
    ("vartheta", "ϑ"),
    ("iota", "ι"),
    ("kappa", "κ"),
    ("lambda", "λ"),
    ("mu", "μ"),
    ("nu", "ν"),
    ("xi", "ξ"),
    ("pi", "π"),
    ("rho", "ρ"),
    ("sigma", "σ"),
    ("tau", "τ"),
    ("upsilon", "υ"),
    ("phi", "φ"),
    ("varphi", "φ"),
    ("chi", "χ"),
    ("psi", "ψ"),
    ("omega", "ω"),
    ("Gamma", "Γ"),
    ("Delta", "Δ"),
    ("Theta", "Θ"),
    ("Lambda", "Λ"),
    ("Xi", "Ξ"),
    ("Pi", "Π"),
    ("Sigma", "Σ"),
    ("Phi", "Φ"),
    ("Psi", "Ψ"),
    ("Omega", "Ω"),
    ("times", "×"),
    ("cdot", "·"),
    ("pm", "±"),
    ("mp", "∓"),
    ("leq", "≤"),
    ("le", "≤"),
    ("geq", "≥"),
    ("ge", "≥"),
    ("neq", "≠"),
    ("ne", "≠"),
    ("approx", "≈"),
    ("sim", "∼"),
    ("simeq", "≃"),
    ("equiv", "≡"),
    ("propto", "∝"),
    ("infty", "∞"),
    ("to", "→"),
    ("rightarrow", "→"),
    ("leftarrow", "←"),
    ("Rightarrow", "⇒"),
    ("leftrightarrow", "↔"),
    ("in", "∈"),
    ("notin", "∉"),
    ("subset", "⊂"),
    ("subseteq", "⊆"),
    ("cup", "∪"),
    ("cap", "∩"),
    ("forall", "∀"),
    ("exists", "∃"),
    ("partial", "∂"),
    ("nabla", "∇"),
    ("sum", "Σ"),
    ("prod", "Π"),
    ("int", "∫"),
    ("sqrt", "√"),
    ("ell", "ℓ"),
    ("hbar", "ħ"),
    ("circ", "∘"),
    ("degree", "°"),
    ("langle", "⟨"),
    ("rangle", "⟩"),
    ("log", "log"),
    ("ln", "ln"),
    ("exp", "exp"),
    ("sin", "sin"),
    ("cos", "cos"),
    ("max", "max"),
    ("min", "min"),
    ("lim", "lim"),
    ("ldots", "…"),
    ("dots", "…"),
    ("cdots", "⋯"),
    (",", " "),
    (";", " "),
    ("quad", " "),
    ("%", "%"),
    ("&", "&"),
    ("_", "_"),
    ("{", "{"),
    ("}", "}"),
];

/// Commands whose argument is kept as it is: fonts and text.
const KEEP_ARGUMENT: &[&str] = &[
    "mathrm",
    "mathbf",
    "mathit",
    "mathsf",
    "mathtt",
    "mathcal",
    "mathbb",
    "mathfrak",
    "text",
    "textrm",
    "textbf",
    "textit",
    "operatorname",
    "boldsymbol",
    "bm",
    "emph",
    "mathscr",
];

fn script(c: char, sup: bool) -> Option<char> {
    let (digits, plus, minus, eq, lp, rp, n) = if sup {
        ("⁰¹²³⁴⁵⁶⁷⁸⁹", '⁺', '⁻', '⁼', '⁽', '⁾', Some('ⁿ'))
    } else {
        ("₀₁₂₃₄₅₆₇₈₉", '₊', '₋', '₌', '₍', '₎', None)
    };
    match c {
        '0'..='9' => digits.chars().nth(c as usize - '0' as usize),
        '+' => Some(plus),
        '-' => Some(minus),
        '=' => Some(eq),
        '(' => Some(lp),
        ')' => Some(rp),
        'n' => n,
        _ => None,
    }
}

/// Reads a `{...}` group (or one character) at the start of `chars`, returning its contents.
fn group(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    match chars.peek() {
        Some('{') => {
            chars.next();
            let mut depth = 1;
            let mut out = String::new();
            for c in chars.by_ref() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                out.push(c);
            }
            out
        }
        Some('\\') => {
            // A command as the argument: `x^\alpha`.
            chars.next();
            let mut name = String::from("\\");
            while let Some(&c) = chars.peek() {
                if !c.is_ascii_alphabetic() {
                    break;
                }
                name.push(c);
                chars.next();
            }
            name
        }
        Some(_) => chars.next().map(String::from).unwrap_or_default(),
        None => String::new(),
    }
}

fn math(src: &str) -> String {
    let mut out = String::new();
    let mut chars = src.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let mut name = String::new();
                while let Some(&n) = chars.peek() {
                    if !n.is_ascii_alphabetic() {
                        break;
                    }
                    name.push(n);
                    chars.next();
                }
                if name.is_empty() {
                    if let Some(n) = chars.next() {
                        name.push(n);
                    }
                }
                if name == "frac" {
                    let (num, den) = (math(&group(&mut chars)), math(&group(&mut chars)));
                    let wrap = |t: String| {
                        if t.chars().count() > 1 {
                            format!("({t})")
                        } else {
                            t
                        }
                    };
                    out.push_str(&wrap(num));
                    out.push('/');
                    out.push_str(&wrap(den));
                } else if KEEP_ARGUMENT.contains(&name.as_str()) {
                    while chars.peek() == Some(&' ') {
                        chars.next();
                    }
                    out.push_str(&math(&group(&mut chars)));
                } else if let Some((_, s)) = SYMBOLS.iter().find(|(n, _)| *n == name) {
                    // Operator names are words: `n\log n` reads "n log n".
                    if s.starts_with(|c: char| c.is_ascii_alphabetic())
                        && out.ends_with(|c: char| c.is_alphanumeric())
                    {
                        out.push(' ');
                    }
                    out.push_str(s);
                } else {
                    // Unknown: its name is the most readable thing there is.
                    out.push_str(&name);
                }
            }
            '^' | '_' => {
                let sup = c == '^';
                let inner = math(&group(&mut chars));
                match inner
                    .chars()
                    .map(|ch| script(ch, sup))
                    .collect::<Option<String>>()
                {
                    Some(s) if !s.is_empty() => out.push_str(&s),
                    _ if inner.chars().count() == 1 => {
                        out.push(c);
                        out.push_str(&inner);
                    }
                    _ => {
                        out.push(c);
                        out.push('(');
                        out.push_str(&inner);
                        out.push(')');
                    }
                }
            }
            '{' | '}' => {}
            '~' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// `text` with its `$...$` (and `$$...$$`) math made plain; unmatched dollars stay.
pub fn plain(text: &str) -> String {
    if !text.contains('$') && !text.contains('\\') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('$') {
        if start > 0 && rest.as_bytes()[start - 1] == b'\\' {
            out.push_str(&rest[..start - 1]);
            out.push('$');
            rest = &rest[start + 1..];
            continue;
        }
        let double = rest[start..].starts_with("$$");
        let open = if double { 2 } else { 1 };
        let body = &rest[start + open..];
        let Some(end) = body.find(if double { "$$" } else { "$" }) else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push_str(&math(&body[..end]));
        rest = &body[end + open..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::plain;

    #[test]
    fn math_becomes_readable_text() {
        assert_eq!(plain("$O(n\\log n)$ sorting"), "O(n log n) sorting");
        assert_eq!(plain("Ti$_2$O$_3$ films"), "Ti₂O₃ films");
        assert_eq!(plain("$\\alpha$-stable laws"), "α-stable laws");
        assert_eq!(plain("$x^2 + y^{n+1}$"), "x² + yⁿ⁺¹");
        assert_eq!(plain("$\\mathcal{O}(1/\\epsilon^2)$"), "O(1/ε²)");
        assert_eq!(plain("$x_{ij}$ and $x^{ab}$"), "x_(ij) and x^(ab)");
        assert_eq!(plain("$\\mathbb{R}^d$"), "R^d");
        assert_eq!(plain("$$E = mc^2$$"), "E = mc²");
        assert_eq!(plain("costs \\$5 or $3 \\times 2$"), "costs $5 or 3 × 2");
        assert_eq!(plain("a lone $ stays"), "a lone $ stays");
        assert_eq!(
            plain("$\\frac{a}{b}$ and $\\frac{1}{n+1}$"),
            "a/b and 1/(n+1)"
        );
        assert_eq!(
            plain("$\\foo x$"),
            "foo x",
            "unknown commands keep their name"
        );
        assert_eq!(plain("no math at all"), "no math at all");
    }
}
