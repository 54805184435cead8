-- Inbound calls find their debtor by the caller's number.
CREATE INDEX phones_by_number ON phones (number);
