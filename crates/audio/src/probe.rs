//! Recognising the container from its first bytes; a client hint helps only where they cannot.

use crate::DecodeError;

/// A container this crate decodes, and where its stream starts in the upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    Wav,
    Flac,
    /// MPEG audio layers I, II and III.
    Mpa,
    /// Ogg: Vorbis, Opus or FLAC.
    Ogg,
    /// MP4/M4A/MOV (ISO base media): AAC, ALAC.
    Mp4,
    /// Matroska and WebM: Opus, Vorbis, AAC, FLAC, PCM.
    Mkv,
    /// AIFF and AIFC.
    Aiff,
    /// Raw AAC in ADTS frames.
    Adts,
}

/// Identifies the container of `bytes`, skipping any leading ID3v2 tags.
///
/// Returns the container and the offset of its first byte.
pub(crate) fn sniff(bytes: &[u8], hint: Option<&str>) -> Result<(Container, usize), DecodeError> {
    let mut offset = 0;
    // ID3v2 tags may precede MP3 (and, rarely, FLAC) streams; a few at most are ever stacked.
    for _ in 0..4 {
        match id3v2_len(&bytes[offset..]) {
            Some(len) => offset = offset.saturating_add(len).min(bytes.len()),
            None => break,
        }
    }
    let head = &bytes[offset..];
    let unsupported = |what: &str| Err(DecodeError::Unsupported(what.into()));
    match head {
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'A',
            b'V',
            b'E',
            ..,
        ] => Ok((Container::Wav, offset)),
        [b'R', b'I', b'F', b'F', ..] if head.len() < 12 => Err(DecodeError::Truncated),
        [b'R', b'I', b'F', b'F', ..] => unsupported("RIFF file that is not WAVE"),
        [b'R', b'F', b'6', b'4', ..] => unsupported("RF64 WAV"),
        [b'f', b'L', b'a', b'C', ..] => Ok((Container::Flac, offset)),
        [b'O', b'g', b'g', b'S', ..] => Ok((Container::Ogg, offset)),
        [0x1A, 0x45, 0xDF, 0xA3, ..] => Ok((Container::Mkv, offset)),
        [_, _, _, _, b'f', b't', b'y', b'p', ..] => Ok((Container::Mp4, offset)),
        [
            b'F',
            b'O',
            b'R',
            b'M',
            _,
            _,
            _,
            _,
            b'A',
            b'I',
            b'F',
            b'F' | b'C',
            ..,
        ] => Ok((Container::Aiff, offset)),
        [b'F', b'O', b'R', b'M', ..] if head.len() < 12 => Err(DecodeError::Truncated),
        [b'F', b'O', b'R', b'M', ..] => unsupported("IFF file that is not AIFF"),
        [b'c', b'a', b'f', b'f', ..] => unsupported("CAF"),
        [b'#', b'!', b'A', b'M', b'R', ..] => unsupported("AMR"),
        _ if mpeg_layer(head).is_some() => Ok((Container::Mpa, offset)),
        _ if is_adts(head) => Ok((Container::Adts, offset)),
        _ => from_hint(hint, offset),
    }
}

/// MP3 has no file magic, so a raw stream starting with junk is only tried when the client says so.
fn from_hint(hint: Option<&str>, offset: usize) -> Result<(Container, usize), DecodeError> {
    let Some(hint) = hint else {
        return Err(DecodeError::UnknownFormat);
    };
    let hint = hint
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .trim_start_matches('.')
        .to_ascii_lowercase();
    match hint.as_str() {
        "mp3" | "mp2" | "mp1" | "audio/mpeg" | "audio/mp3" | "audio/mpeg3" | "audio/x-mpeg-3" => {
            Ok((Container::Mpa, offset))
        }
        "amr" | "audio/amr" | "caf" | "audio/x-caf" => Err(DecodeError::Unsupported(hint)),
        _ => Err(DecodeError::UnknownFormat),
    }
}

/// Length of an ID3v2 tag at the start of `b`, header and footer included.
fn id3v2_len(b: &[u8]) -> Option<usize> {
    let [b'I', b'D', b'3', major, _, flags, s0, s1, s2, s3, ..] = *b else {
        return None;
    };
    // Sizes are "syncsafe": 7 bits per byte, top bit clear.
    if major == 0xFF || [s0, s1, s2, s3].iter().any(|s| s & 0x80 != 0) {
        return None;
    }
    let size = (usize::from(s0) << 21)
        | (usize::from(s1) << 14)
        | (usize::from(s2) << 7)
        | usize::from(s3);
    let footer = if flags & 0x10 != 0 { 10 } else { 0 };
    Some(10 + size + footer)
}

/// The MPEG audio layer (1–3) if `b` starts with a plausible frame header.
///
/// ADTS shares the sync word but has layer bits 00, which no MPEG audio frame uses.
fn mpeg_layer(b: &[u8]) -> Option<u8> {
    let [0xFF, b1, b2, ..] = *b else {
        return None;
    };
    let version = (b1 >> 3) & 0b11;
    let layer = (b1 >> 1) & 0b11;
    let bitrate = b2 >> 4;
    let rate = (b2 >> 2) & 0b11;
    let valid =
        b1 & 0xE0 == 0xE0 && version != 0b01 && layer != 0 && bitrate != 0xF && rate != 0b11;
    valid.then_some(4 - layer)
}

fn is_adts(b: &[u8]) -> bool {
    matches!(b, [0xFF, b1, ..] if b1 & 0xF6 == 0xF0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_by_content_not_hint() {
        assert_eq!(
            sniff(b"fLaC\0\0\0\x22", Some("audio/wav")),
            Ok((Container::Flac, 0))
        );
        assert_eq!(
            sniff(&[0xFF, 0xFB, 0x90, 0x64], None),
            Ok((Container::Mpa, 0))
        );
        assert_eq!(
            sniff(&[0xFF, 0xF1, 0x50, 0x80], None),
            Ok((Container::Adts, 0))
        );
        assert_eq!(sniff(b"FORM\0\0\0\x04AIFC", None), Ok((Container::Aiff, 0)));
        assert_eq!(sniff(b"hello world", None), Err(DecodeError::UnknownFormat));
        assert_eq!(
            sniff(b"hello world", Some("audio/mpeg; q=1")),
            Ok((Container::Mpa, 0))
        );
        assert_eq!(
            sniff(b"hello world", Some("audio/amr"))
                .unwrap_err()
                .code()
                .as_str(),
            "unsupported_format"
        );
    }

    #[test]
    fn skips_id3v2() {
        let mut b = b"ID3\x04\x00\x00\x00\x00\x00\x02xx".to_vec();
        b.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x64]);
        assert_eq!(sniff(&b, None), Ok((Container::Mpa, 12)));
        // A tag claiming more bytes than exist leaves nothing to recognise.
        assert_eq!(
            sniff(b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f", None),
            Err(DecodeError::UnknownFormat)
        );
    }
}
