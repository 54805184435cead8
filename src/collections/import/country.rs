//! The countries a portfolio may place debtors in, with the facts the import checks per country:
//! the default time zone, the zones that belong to the country, and the postal code format.

use std::fmt;
use std::str::FromStr;

use chrono_tz::Tz;

/// An ISO 3166-1 alpha-2 country that cobranza collects in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Country {
    Mx,
    Co,
    Pe,
    Cl,
    Us,
    Ar,
    Br,
}

/// IANA zones of each country, from the tz database's `zone1970.tab` (2024 release). A debtor's
/// calling window is computed in this zone, so a zone from another country is rejected.
const MX_ZONES: &[Tz] = &[
    Tz::America__Mexico_City,
    Tz::America__Cancun,
    Tz::America__Merida,
    Tz::America__Monterrey,
    Tz::America__Matamoros,
    Tz::America__Chihuahua,
    Tz::America__Ciudad_Juarez,
    Tz::America__Ojinaga,
    Tz::America__Mazatlan,
    Tz::America__Bahia_Banderas,
    Tz::America__Hermosillo,
    Tz::America__Tijuana,
];
const CO_ZONES: &[Tz] = &[Tz::America__Bogota];
const PE_ZONES: &[Tz] = &[Tz::America__Lima];
const CL_ZONES: &[Tz] = &[Tz::America__Santiago, Tz::America__Punta_Arenas, Tz::Pacific__Easter];
const US_ZONES: &[Tz] = &[
    Tz::America__New_York,
    Tz::America__Detroit,
    Tz::America__Kentucky__Louisville,
    Tz::America__Kentucky__Monticello,
    Tz::America__Indiana__Indianapolis,
    Tz::America__Indiana__Vincennes,
    Tz::America__Indiana__Winamac,
    Tz::America__Indiana__Marengo,
    Tz::America__Indiana__Petersburg,
    Tz::America__Indiana__Vevay,
    Tz::America__Chicago,
    Tz::America__Indiana__Tell_City,
    Tz::America__Indiana__Knox,
    Tz::America__Menominee,
    Tz::America__North_Dakota__Center,
    Tz::America__North_Dakota__New_Salem,
    Tz::America__North_Dakota__Beulah,
    Tz::America__Denver,
    Tz::America__Boise,
    Tz::America__Phoenix,
    Tz::America__Los_Angeles,
    Tz::America__Anchorage,
    Tz::America__Juneau,
    Tz::America__Sitka,
    Tz::America__Metlakatla,
    Tz::America__Yakutat,
    Tz::America__Nome,
    Tz::America__Adak,
    Tz::Pacific__Honolulu,
];
const AR_ZONES: &[Tz] = &[
    Tz::America__Argentina__Buenos_Aires,
    Tz::America__Argentina__Cordoba,
    Tz::America__Argentina__Salta,
    Tz::America__Argentina__Jujuy,
    Tz::America__Argentina__Tucuman,
    Tz::America__Argentina__Catamarca,
    Tz::America__Argentina__La_Rioja,
    Tz::America__Argentina__San_Juan,
    Tz::America__Argentina__Mendoza,
    Tz::America__Argentina__San_Luis,
    Tz::America__Argentina__Rio_Gallegos,
    Tz::America__Argentina__Ushuaia,
];
const BR_ZONES: &[Tz] = &[
    Tz::America__Noronha,
    Tz::America__Belem,
    Tz::America__Fortaleza,
    Tz::America__Recife,
    Tz::America__Araguaina,
    Tz::America__Maceio,
    Tz::America__Bahia,
    Tz::America__Sao_Paulo,
    Tz::America__Campo_Grande,
    Tz::America__Cuiaba,
    Tz::America__Santarem,
    Tz::America__Porto_Velho,
    Tz::America__Boa_Vista,
    Tz::America__Manaus,
    Tz::America__Eirunepe,
    Tz::America__Rio_Branco,
];

impl Country {
    pub(crate) const ALL: [Country; 7] =
        [Country::Mx, Country::Co, Country::Pe, Country::Cl, Country::Us, Country::Ar, Country::Br];

    pub(crate) fn code(self) -> &'static str {
        match self {
            Country::Mx => "MX",
            Country::Co => "CO",
            Country::Pe => "PE",
            Country::Cl => "CL",
            Country::Us => "US",
            Country::Ar => "AR",
            Country::Br => "BR",
        }
    }

    /// Returns the zone a row without `time_zone` gets. `None` where the country spans zones whose
    /// clocks differ enough that guessing could place a call outside legal hours (US, BR).
    pub(crate) fn default_time_zone(self) -> Option<Tz> {
        match self {
            Country::Mx => Some(Tz::America__Mexico_City),
            Country::Co => Some(Tz::America__Bogota),
            Country::Pe => Some(Tz::America__Lima),
            Country::Cl => Some(Tz::America__Santiago),
            Country::Ar => Some(Tz::America__Argentina__Buenos_Aires),
            Country::Us | Country::Br => None,
        }
    }

    /// Returns a zone of this country to show as an example in error messages.
    pub(crate) fn example_time_zone(self) -> Tz {
        self.time_zones()[0]
    }

    pub(crate) fn time_zones(self) -> &'static [Tz] {
        match self {
            Country::Mx => MX_ZONES,
            Country::Co => CO_ZONES,
            Country::Pe => PE_ZONES,
            Country::Cl => CL_ZONES,
            Country::Us => US_ZONES,
            Country::Ar => AR_ZONES,
            Country::Br => BR_ZONES,
        }
    }

    pub(crate) fn has_time_zone(self, zone: Tz) -> bool {
        self.time_zones().contains(&zone)
    }

    /// Reports whether `code` has the shape of this country's postal codes.
    pub(crate) fn is_postal_code(self, code: &str) -> bool {
        let bytes = code.as_bytes();
        let digits = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
        let letters = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_uppercase);
        match (self, bytes.len()) {
            (Country::Mx | Country::Pe, 5) => digits(0..5),
            (Country::Co, 6) => digits(0..6),
            (Country::Cl, 7) => digits(0..7),
            (Country::Us, 5) => digits(0..5),
            (Country::Us, 10) => digits(0..5) && bytes[5] == b'-' && digits(6..10),
            (Country::Ar, 4) => digits(0..4),
            (Country::Ar, 8) => letters(0..1) && digits(1..5) && letters(5..8),
            (Country::Br, 8) => digits(0..8),
            (Country::Br, 9) => digits(0..5) && bytes[5] == b'-' && digits(6..9),
            _ => false,
        }
    }

    /// Describes the postal code format in words, with an example, for error messages.
    pub(crate) fn postal_code_format(self) -> &'static str {
        match self {
            Country::Mx => "5 digits, like 06700",
            Country::Co => "6 digits, like 110111",
            Country::Pe => "5 digits, like 15074",
            Country::Cl => "7 digits, like 8320000",
            Country::Us => "5 digits or ZIP+4, like 02108 or 02108-1234",
            Country::Ar => "4 digits or a CPA, like 1425 or C1425DKH",
            Country::Br => "8 digits, like 01310-100 or 01310100",
        }
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Country {
    type Err = ();

    /// Parses an alpha-2 code in any letter case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Country::ALL.into_iter().find(|country| country.code().eq_ignore_ascii_case(text)).ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_zone_belongs_to_country() {
        for country in Country::ALL {
            if let Some(zone) = country.default_time_zone() {
                assert!(country.has_time_zone(zone), "{country} default {zone}");
            }
        }
    }

    #[test]
    fn zone_of_other_country_rejected() {
        assert!(!Country::Mx.has_time_zone(Tz::America__Bogota));
        assert!(!Country::Us.has_time_zone(Tz::America__Mexico_City));
        assert!(Country::Us.has_time_zone(Tz::America__Phoenix));
    }

    #[test]
    fn postal_code_shapes() {
        let cases = [
            (Country::Mx, "06700", true),
            (Country::Mx, "6700", false),
            (Country::Co, "110111", true),
            (Country::Pe, "15074", true),
            (Country::Cl, "8320000", true),
            (Country::Cl, "832000", false),
            (Country::Us, "02108", true),
            (Country::Us, "02108-1234", true),
            (Country::Us, "2108", false),
            (Country::Us, "02108 1234", false),
            (Country::Ar, "1425", true),
            (Country::Ar, "C1425DKH", true),
            (Country::Ar, "c1425dkh", false),
            (Country::Br, "01310-100", true),
            (Country::Br, "01310100", true),
            (Country::Br, "0131010", false),
        ];
        for (country, code, expected) in cases {
            assert_eq!(country.is_postal_code(code), expected, "{country} {code}");
        }
    }

    #[test]
    fn country_code_any_case() {
        assert_eq!("mx".parse::<Country>(), Ok(Country::Mx));
        assert_eq!("US".parse::<Country>(), Ok(Country::Us));
        assert_eq!("Mexico".parse::<Country>(), Err(()));
    }
}
