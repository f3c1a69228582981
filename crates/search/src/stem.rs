//! English Snowball stemming with a memory of the words already stemmed: the same tokens as
//! tantivy's `Stemmer`, but a word seen before costs a hash lookup instead of a run of the
//! algorithm (390 ns a token, most of the index build's analysis). Indexing 2.7 M abstracts meets
//! the same few hundred thousand words again and again.

use std::collections::HashMap;

use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// Words remembered per tokenizer before the memory starts over (about 10 MB at most).
const REMEMBERED: usize = 200_000;

/// The filter: English Snowball stemming, memoized.
#[derive(Clone, Copy, Default)]
pub struct MemoStemmer;

impl TokenFilter for MemoStemmer {
    type Tokenizer<T: Tokenizer> = MemoStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> MemoStemmerFilter<T> {
        MemoStemmerFilter {
            inner: tokenizer,
            memory: Memory::default(),
        }
    }
}

/// Word -> stem. A clone (one per indexing thread) starts with an empty memory.
#[derive(Default)]
struct Memory(HashMap<String, String>);

impl Clone for Memory {
    fn clone(&self) -> Memory {
        Memory::default()
    }
}

impl Memory {
    fn stem<'m>(&'m mut self, stemmer: &rust_stemmers::Stemmer, word: &str) -> &'m str {
        if !self.0.contains_key(word) {
            if self.0.len() >= REMEMBERED {
                self.0.clear();
            }
            let stem = stemmer.stem(word).into_owned();
            self.0.insert(word.to_owned(), stem);
        }
        &self.0[word]
    }
}

#[derive(Clone)]
pub struct MemoStemmerFilter<T> {
    inner: T,
    memory: Memory,
}

impl<T: Tokenizer> Tokenizer for MemoStemmerFilter<T> {
    type TokenStream<'a> = MemoStemmerStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        MemoStemmerStream {
            tail: self.inner.token_stream(text),
            stemmer: rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English),
            memory: &mut self.memory,
        }
    }
}

pub struct MemoStemmerStream<'a, T> {
    tail: T,
    stemmer: rust_stemmers::Stemmer,
    memory: &'a mut Memory,
}

impl<T: TokenStream> TokenStream for MemoStemmerStream<'_, T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        let stem = self.memory.stem(&self.stemmer, &token.text);
        if stem != token.text {
            token.text.clear();
            token.text.push_str(stem);
        }
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

#[cfg(test)]
mod tests {
    use tantivy::tokenizer::{
        Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer,
    };

    use super::*;

    fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    /// The index must not change: the memoized filter gives tantivy's stems, word for word, also
    /// when the memory starts over.
    #[test]
    fn stems_as_tantivys_stemmer_does() {
        let base = || {
            TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(RemoveLongFilter::limit(40))
                .filter(LowerCaser)
        };
        let mut theirs = base().filter(Stemmer::new(Language::English)).build();
        let mut ours = base().filter(MemoStemmer).build();
        let text = "Running runners ran; the generalizations generalized generously. \
                    Diffusion models diffuse, transformers transform, Überraschung naïve caféS \
                    studies studying studied 3D x-ray H2O running RUNNING";
        for _ in 0..2 {
            assert_eq!(tokens(&mut ours, text), tokens(&mut theirs, text));
        }
        let mut memory = Memory::default();
        let stemmer = rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English);
        for n in 0..REMEMBERED + 10 {
            memory.stem(&stemmer, &format!("word{n}ing"));
        }
        assert!(memory.0.len() <= REMEMBERED, "the memory is bounded");
        let want = stemmer.stem("generalizations").into_owned();
        assert_eq!(memory.stem(&stemmer, "generalizations"), want);
    }
}
