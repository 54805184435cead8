//! The time zones a debtor may be in. The address gives one zone; the phone number's area code
//! may point to another, for a debtor who moved or a mobile number kept from elsewhere. When
//! they disagree the debtor's location is uncertain, and a contact must fall inside the calling
//! hours of every candidate zone.

use chrono_tz::Tz;

/// US area codes by zone, for the zones that differ from one another in local time. An area
/// code that spans two zones is listed under both.
// NOTE: the tables cover the area codes of the larger metropolitan areas, not every code in
// service; a number with an unlisted code adds no zone, so the address's zone alone decides.
const US_AREA_CODES: &[(Tz, &[u16])] = &[
    (
        Tz::America__New_York,
        &[
            201, 202, 203, 212, 215, 216, 229, 234, 240, 248, 252, 260, 267, 276, 301, 302, 304, 305, 313, 315, 317,
            321, 330, 336, 339, 347, 351, 352, 386, 401, 404, 407, 410, 412, 413, 419, 423, 434, 440, 443, 470, 478,
            484, 502, 508, 513, 516, 517, 518, 540, 561, 570, 571, 574, 585, 586, 603, 606, 607, 609, 610, 614, 617,
            631, 646, 678, 703, 704, 706, 716, 717, 718, 724, 727, 732, 734, 740, 754, 757, 765, 770, 772, 774, 781,
            786, 802, 803, 804, 810, 813, 814, 828, 843, 845, 850, 856, 857, 859, 860, 863, 864, 865, 904, 908, 910,
            912, 914, 917, 919, 929, 937, 941, 954, 973, 978, 980, 989,
        ],
    ),
    (
        Tz::America__Chicago,
        &[
            205, 210, 214, 217, 218, 219, 224, 225, 228, 251, 254, 256, 262, 270, 281, 309, 312, 314, 316, 318, 319,
            320, 325, 334, 337, 361, 402, 405, 409, 414, 417, 430, 432, 469, 479, 501, 504, 507, 512, 515, 563, 573,
            580, 601, 608, 612, 615, 618, 620, 629, 630, 636, 641, 651, 660, 662, 682, 708, 712, 713, 715, 731, 737,
            763, 773, 785, 806, 815, 816, 817, 830, 832, 847, 850, 870, 872, 901, 903, 913, 918, 920, 931, 936, 940,
            952, 956, 972, 979, 985,
        ],
    ),
    (Tz::America__Denver, &[208, 303, 307, 308, 385, 406, 435, 505, 575, 719, 720, 801, 915, 970]),
    (Tz::America__Phoenix, &[480, 520, 602, 623, 928]),
    (
        Tz::America__Los_Angeles,
        &[
            206, 209, 213, 253, 310, 323, 360, 408, 415, 424, 425, 503, 509, 510, 530, 541, 559, 562, 619, 626, 650,
            657, 661, 702, 707, 714, 725, 747, 760, 775, 805, 818, 831, 858, 909, 916, 925, 949, 951, 971,
        ],
    ),
    (Tz::America__Anchorage, &[907]),
    (Tz::Pacific__Honolulu, &[808]),
];

/// Mexican area codes of the states whose time differs from Mexico City's.
const MX_AREA_CODES: &[(Tz, &[u16])] = &[
    (Tz::America__Tijuana, &[646, 664, 665, 686]),
    (Tz::America__Hermosillo, &[622, 631, 644, 662]),
    (Tz::America__Mazatlan, &[311, 612, 624, 667, 669]),
    (Tz::America__Cancun, &[983, 984, 998]),
    (Tz::America__Chihuahua, &[614]),
    (Tz::America__Ciudad_Juarez, &[656]),
];

/// Brazilian DDD codes of the states west of Brasília time; every other DDD is UTC−3.
const BR_AREA_CODES: &[(Tz, &[u16])] = &[
    (Tz::America__Rio_Branco, &[68]),
    (Tz::America__Porto_Velho, &[69]),
    (Tz::America__Manaus, &[92, 97]),
    (Tz::America__Boa_Vista, &[95]),
    (Tz::America__Cuiaba, &[65, 66]),
    (Tz::America__Campo_Grande, &[67]),
];

/// Returns the zones a debtor may be in: `address_zone` first, then each other zone the phone
/// number's area code belongs to.
pub fn candidate_zones(address_zone: Tz, phone: &str) -> Vec<Tz> {
    let mut zones = vec![address_zone];
    for zone in phone_zones(phone) {
        if !zones.contains(&zone) {
            zones.push(zone);
        }
    }
    zones
}

/// Returns the zones an E.164 number's area code belongs to, or none when the code is unknown
/// or does not tell (mobile numbers in Chile, say).
pub fn phone_zones(phone: &str) -> Vec<Tz> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    if let Some(national) = digits.strip_prefix('1').filter(|rest| rest.len() == 10) {
        return zones_for(US_AREA_CODES, area_code(national, 3));
    }
    if let Some(national) = digits.strip_prefix("52") {
        // Older mobile numbers carry a 1 between the country code and the ten digits.
        let national = if national.len() == 11 { national.strip_prefix('1').unwrap_or(national) } else { national };
        if national.len() == 10 {
            return zones_for(MX_AREA_CODES, area_code(national, 3));
        }
    }
    if let Some(national) = digits.strip_prefix("55").filter(|rest| rest.len() == 10 || rest.len() == 11) {
        let zones = zones_for(BR_AREA_CODES, area_code(national, 2));
        return if zones.is_empty() { vec![Tz::America__Sao_Paulo] } else { zones };
    }
    if let Some(national) = digits.strip_prefix("56").filter(|rest| rest.len() == 9) {
        if national.starts_with("61") {
            return vec![Tz::America__Punta_Arenas];
        }
        if national.starts_with("322100") {
            return vec![Tz::Pacific__Easter];
        }
    }
    Vec::new()
}

fn area_code(national: &str, length: usize) -> Option<u16> {
    national.get(..length)?.parse().ok()
}

fn zones_for(table: &[(Tz, &[u16])], code: Option<u16>) -> Vec<Tz> {
    let Some(code) = code else {
        return Vec::new();
    };
    table.iter().filter(|(_, codes)| codes.contains(&code)).map(|(zone, _)| *zone).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn us_area_code_gives_its_zone() {
        assert_eq!(phone_zones("+1 310 555 0100"), vec![Tz::America__Los_Angeles]);
        assert_eq!(phone_zones("+12125550100"), vec![Tz::America__New_York]);
        assert_eq!(phone_zones("+19155550100"), vec![Tz::America__Denver]);
    }

    #[test]
    fn area_code_spanning_two_zones_gives_both() {
        assert_eq!(phone_zones("+18505550100"), vec![Tz::America__New_York, Tz::America__Chicago]);
    }

    #[test]
    fn unknown_area_code_adds_no_zone() {
        assert_eq!(phone_zones("+19995550100"), Vec::<Tz>::new());
        assert_eq!(candidate_zones(Tz::America__New_York, "+19995550100"), vec![Tz::America__New_York]);
    }

    #[test]
    fn disagreeing_phone_adds_a_candidate_zone() {
        assert_eq!(
            candidate_zones(Tz::America__New_York, "+13105550100"),
            vec![Tz::America__New_York, Tz::America__Los_Angeles]
        );
        assert_eq!(candidate_zones(Tz::America__New_York, "+12125550100"), vec![Tz::America__New_York]);
    }

    #[test]
    fn mexican_numbers_with_and_without_mobile_one() {
        assert_eq!(phone_zones("+526641234567"), vec![Tz::America__Tijuana]);
        assert_eq!(phone_zones("+5216641234567"), vec![Tz::America__Tijuana]);
        assert_eq!(phone_zones("+525550100001"), Vec::<Tz>::new());
    }

    #[test]
    fn brazilian_ddd_gives_its_zone() {
        assert_eq!(phone_zones("+5592912345678"), vec![Tz::America__Manaus]);
        assert_eq!(phone_zones("+5511912345678"), vec![Tz::America__Sao_Paulo]);
    }

    #[test]
    fn chilean_landlines_of_magallanes_and_easter_island() {
        assert_eq!(phone_zones("+56612123456"), vec![Tz::America__Punta_Arenas]);
        assert_eq!(phone_zones("+56322100123"), vec![Tz::Pacific__Easter]);
        assert_eq!(phone_zones("+56912345678"), Vec::<Tz>::new());
    }
}
