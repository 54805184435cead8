//! G.711 μ-law (PCMU), the codec of the carrier's media stream.
//!
//! The encoder is the BIAS/CLIP formulation (bias 0x84, clip 32635). The Sun `g711.c` encoder,
//! which Python's `audioop` follows, rounds 381 negative inputs one code step differently, so
//! the tests pin this variant's own vectors. Every decoder agrees on the 256-entry table.

/// The μ-law code of a zero sample, sent as silence.
pub const SILENCE: u8 = 0xFF;

const BIAS: i32 = 0x84;
const CLIP: i32 = 32_635;

/// Decoded value of every μ-law code, indexed by the code byte.
static DECODE_TABLE: [i16; 256] = build_decode_table();

const fn build_decode_table() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut code = 0;
    while code < 256 {
        table[code] = decode_uncached(code as u8);
        code += 1;
    }
    table
}

const fn decode_uncached(byte: u8) -> i16 {
    let inverted = !byte;
    let exponent = (inverted >> 4) & 0x07;
    let mantissa = (inverted & 0x0F) as i32;
    let magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
    if inverted & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// Encodes one linear sample as a μ-law code. Magnitudes above 32635 are clipped.
pub fn encode(sample: i16) -> u8 {
    let sign: u8 = if sample < 0 { 0x80 } else { 0 };

    // Widening first keeps -32768 representable after negation.
    let magnitude = (sample as i32).abs().min(CLIP) + BIAS;

    // The biased magnitude is 132..=32767, so its highest set bit is bit 7 to bit 14.
    let highest_bit = 31 - magnitude.leading_zeros();
    let exponent = (highest_bit - 7) as u8;
    let mantissa = ((magnitude >> (exponent + 3)) & 0x0F) as u8;

    !(sign | (exponent << 4) | mantissa)
}

/// Decodes one μ-law code to a linear sample in ±32124.
pub fn decode(byte: u8) -> i16 {
    DECODE_TABLE[byte as usize]
}

pub fn encode_slice(pcm: &[i16]) -> Vec<u8> {
    pcm.iter().map(|&sample| encode(sample)).collect()
}

pub fn decode_slice(bytes: &[u8]) -> Vec<i16> {
    let mut pcm = Vec::with_capacity(bytes.len());
    decode_into(bytes, &mut pcm);
    pcm
}

/// Appends the decoded samples to `pcm`, so a per-call buffer can be reused frame after frame.
pub fn decode_into(bytes: &[u8], pcm: &mut Vec<i16>) {
    pcm.extend(bytes.iter().map(|&byte| decode(byte)));
}

/// Appends the encoded codes to `bytes`, so a per-call buffer can be reused frame after frame.
pub fn encode_into(pcm: &[i16], bytes: &mut Vec<u8>) {
    bytes.extend(pcm.iter().map(|&sample| encode(sample)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use proptest::prelude::*;

    #[test]
    fn encode_vectors() {
        let cases: [(i16, u8); 23] = [
            (0, 0xFF),
            (1, 0xFF),
            (-1, 0x7F),
            (8, 0xFE),
            (-8, 0x7E),
            (100, 0xF2),
            (-100, 0x72),
            (1000, 0xCE),
            (-1000, 0x4E),
            (4000, 0xAF),
            (-4000, 0x2F),
            (8000, 0xA0),
            (-8000, 0x20),
            (16000, 0x90),
            (-16000, 0x10),
            (32124, 0x80),
            (32635, 0x80),
            (32767, 0x80),
            (-32124, 0x00),
            (-32635, 0x00),
            (-32768, 0x00),
            (5657, 0xA9),
            (-5657, 0x29),
        ];
        for (sample, code) in cases {
            assert_eq!(encode(sample), code, "encode({sample})");
        }
    }

    #[test]
    fn decode_vectors() {
        let cases: [(u8, i16); 12] = [
            (0x00, -32124),
            (0x01, -31100),
            (0x0F, -16764),
            (0x10, -15996),
            (0x70, -120),
            (0x7E, -8),
            (0x7F, 0),
            (0x80, 32124),
            (0xEF, 132),
            (0xF0, 120),
            (0xFE, 8),
            (0xFF, 0),
        ];
        for (code, sample) in cases {
            assert_eq!(decode(code), sample, "decode({code:#04X})");
        }
    }

    #[test]
    fn sine_vector() {
        let pcm = [0, 5657, 8000, 5657, 0, -5657, -8000, -5657];
        let expected = vec![0xFF, 0xA9, 0xA0, 0xA9, 0xFF, 0x29, 0x20, 0x29];
        assert_eq!(encode_slice(&pcm), expected);
    }

    #[test]
    fn decode_then_encode_is_identity() {
        for code in 0..=255u8 {
            let expected = if code == 0x7F { 0xFF } else { code };
            assert_eq!(encode(decode(code)), expected, "code {code:#04X}");
        }
    }

    #[test]
    fn negative_zero_reencodes_as_silence() {
        assert_eq!(encode(decode(0x7F)), SILENCE);
    }

    #[test]
    fn round_trip_error_within_half_step() {
        // The half step of each segment is (|s| + BIAS) / 32 at most, and 512 in the top segment.
        for sample in -CLIP..=CLIP {
            let sample = sample as i16;
            let error = (decode(encode(sample)) as i32 - sample as i32).abs();
            assert!(error <= 512, "sample {sample}: error {error}");
            assert!(error * 32 <= (sample as i32).abs() + BIAS, "sample {sample}: error {error}");
        }
    }

    #[test]
    fn clipped_samples_decode_to_extremes() {
        assert_eq!(decode(encode(i16::MAX)), 32124);
        assert_eq!(decode(encode(i16::MIN)), -32124);
    }

    #[test]
    fn slices_match_single_samples() {
        let pcm: Vec<i16> = (-40..40).map(|n| n * 800).collect();
        let bytes = encode_slice(&pcm);
        assert_eq!(bytes, pcm.iter().map(|&s| encode(s)).collect::<Vec<_>>());
        assert_eq!(decode_slice(&bytes), bytes.iter().map(|&b| decode(b)).collect::<Vec<_>>());
    }

    #[test]
    fn into_variants_append() {
        let mut pcm = vec![7];
        decode_into(&[0xFF, 0x80], &mut pcm);
        assert_eq!(pcm, vec![7, 0, 32124]);

        let mut bytes = vec![0x01];
        encode_into(&[0, -32768], &mut bytes);
        assert_eq!(bytes, vec![0x01, 0xFF, 0x00]);
    }

    #[test]
    fn silent_frame_base64() {
        let encoded = base64::engine::general_purpose::STANDARD.encode([SILENCE; 160]);
        assert_eq!(encoded.len(), 216);
        assert!(encoded.ends_with("///w=="), "{encoded}");
    }

    #[test]
    fn negative_zero_frame_base64() {
        let encoded = base64::engine::general_purpose::STANDARD.encode([0x7Fu8; 160]);
        assert!(encoded.starts_with("f39/f39/"), "{encoded}");
        assert!(encoded.ends_with("9/fw=="), "{encoded}");
    }

    proptest! {
        #[test]
        fn round_trip_error_bounded(sample in -CLIP..=CLIP) {
            let sample = sample as i16;
            let error = (decode(encode(sample)) as i32 - sample as i32).abs();
            prop_assert!(error <= 512);
        }

        #[test]
        fn encoding_keeps_sign(sample in any::<i16>()) {
            let decoded = decode(encode(sample));
            prop_assert!(decoded == 0 || decoded.signum() == sample.signum());
        }
    }
}
