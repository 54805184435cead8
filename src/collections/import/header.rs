//! The portfolio header: which known column sits at which position, and what else is there.

use csv::StringRecord;

/// A column cobranza reads from the portfolio CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    DebtorId,
    FullName,
    Phone,
    Country,
    Region,
    Locale,
    TimeZone,
    NationalIdLast4,
    BirthDate,
    PostalCode,
    Creditor,
    Product,
    AccountRef,
    Balance,
    Currency,
    DaysPastDue,
    CallConsent,
    AuthorisedChannels,
}

impl Column {
    pub(crate) const ALL: [Column; 18] = [
        Column::DebtorId,
        Column::FullName,
        Column::Phone,
        Column::Country,
        Column::Region,
        Column::Locale,
        Column::TimeZone,
        Column::NationalIdLast4,
        Column::BirthDate,
        Column::PostalCode,
        Column::Creditor,
        Column::Product,
        Column::AccountRef,
        Column::Balance,
        Column::Currency,
        Column::DaysPastDue,
        Column::CallConsent,
        Column::AuthorisedChannels,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Column::DebtorId => "debtor_id",
            Column::FullName => "full_name",
            Column::Phone => "phone",
            Column::Country => "country",
            Column::Region => "region",
            Column::Locale => "locale",
            Column::TimeZone => "time_zone",
            Column::NationalIdLast4 => "national_id_last4",
            Column::BirthDate => "birth_date",
            Column::PostalCode => "postal_code",
            Column::Creditor => "creditor",
            Column::Product => "product",
            Column::AccountRef => "account_ref",
            Column::Balance => "balance",
            Column::Currency => "currency",
            Column::DaysPastDue => "days_past_due",
            Column::CallConsent => "call_consent",
            Column::AuthorisedChannels => "authorised_channels",
        }
    }

    /// Reports whether a file may leave the column out. Only `time_zone` may, because the country
    /// gives it for every country but the US and Brazil.
    fn optional(self) -> bool {
        self == Column::TimeZone
    }
}

/// A fault in a header line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeaderProblem {
    Missing(Vec<&'static str>),
    Duplicate(String),
    SemicolonSeparated,
}

/// The positions of the known columns in one file's header.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    positions: [Option<usize>; Column::ALL.len()],
    /// Header cells cobranza does not read, as written.
    pub(crate) ignored: Vec<String>,
    pub(crate) width: usize,
}

impl Header {
    /// Reads a header line; names match after trimming, in any letter case.
    pub(crate) fn parse(record: &StringRecord) -> Result<Header, HeaderProblem> {
        if record.len() == 1 && record[0].contains(';') {
            return Err(HeaderProblem::SemicolonSeparated);
        }

        let mut positions = [None; Column::ALL.len()];
        let mut ignored = Vec::new();
        for (position, cell) in record.iter().enumerate() {
            let name = cell.trim();
            let known = Column::ALL.iter().position(|column| column.name().eq_ignore_ascii_case(name));
            match known {
                Some(index) if positions[index].is_some() => {
                    return Err(HeaderProblem::Duplicate(name.to_string()));
                }
                Some(index) => positions[index] = Some(position),
                None if name.is_empty() => ignored.push(format!("(unnamed column {})", position + 1)),
                None => ignored.push(name.to_string()),
            }
        }

        let missing: Vec<&'static str> = Column::ALL
            .iter()
            .zip(positions)
            .filter(|(column, position)| position.is_none() && !column.optional())
            .map(|(column, _)| column.name())
            .collect();
        if !missing.is_empty() {
            return Err(HeaderProblem::Missing(missing));
        }
        Ok(Header { positions, ignored, width: record.len() })
    }

    /// Finds the index of `column` in the file's lines, counting from 0, or `None` when the
    /// file has no such column.
    pub(crate) fn position(&self, column: Column) -> Option<usize> {
        let index = Column::ALL.iter().position(|known| *known == column).expect("column is in ALL");
        self.positions[index]
    }

    /// Returns the cell of `column` in `record`, or "" when the file has no such column.
    pub(crate) fn cell<'r>(&self, record: &'r StringRecord, column: Column) -> &'r str {
        self.position(column).and_then(|position| record.get(position)).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(cells: &[&str]) -> StringRecord {
        StringRecord::from(cells.to_vec())
    }

    fn all_names() -> Vec<&'static str> {
        Column::ALL.iter().map(|column| column.name()).collect()
    }

    #[test]
    fn header_any_order_and_case() {
        let mut names = all_names();
        names.reverse();
        names[0] = "  AUTHORISED_CHANNELS ";
        let header = Header::parse(&record(&names)).unwrap();
        let row = record(&(0..18).map(|i| if i == 0 { "voice" } else { "x" }).collect::<Vec<_>>());
        assert_eq!(header.cell(&row, Column::AuthorisedChannels), "voice");
        assert!(header.ignored.is_empty());
    }

    #[test]
    fn time_zone_column_optional() {
        let names: Vec<&str> = all_names().into_iter().filter(|name| *name != "time_zone").collect();
        let header = Header::parse(&record(&names)).unwrap();
        assert_eq!(header.cell(&record(&names), Column::TimeZone), "");
    }

    #[test]
    fn extra_columns_listed() {
        let mut names = all_names();
        names.insert(3, "notes");
        names.push("");
        let header = Header::parse(&record(&names)).unwrap();
        assert_eq!(header.ignored, vec!["notes".to_string(), "(unnamed column 20)".to_string()]);
        assert_eq!(header.width, 20);
    }

    #[test]
    fn missing_columns_listed_in_order() {
        let names: Vec<&str> = all_names().into_iter().filter(|name| !["balance", "phone"].contains(name)).collect();
        assert_eq!(Header::parse(&record(&names)).unwrap_err(), HeaderProblem::Missing(vec!["phone", "balance"]));
    }

    #[test]
    fn duplicate_column_rejected() {
        let mut names = all_names();
        names.push("Phone");
        assert_eq!(Header::parse(&record(&names)).unwrap_err(), HeaderProblem::Duplicate("Phone".to_string()));
    }

    #[test]
    fn semicolon_header_detected() {
        assert_eq!(
            Header::parse(&record(&["debtor_id;full_name;phone"])).unwrap_err(),
            HeaderProblem::SemicolonSeparated
        );
    }
}
