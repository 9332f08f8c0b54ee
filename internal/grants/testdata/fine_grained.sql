-- fine-grained grants: columns, row filters, masks, attributes, and their combinations
GRANT SELECT (c1, C2, ssn) ON TABLE d.t
  WHERE region = 'EU'
  TRANSFORM SSN WITH Mask_Last(4)
  TO ROLE r;
GRANT SELECT ON TABLE sales.customers
  WHERE owner = current_user() OR has_group('admins') -- admins see all
  TO ROLE owners;
GRANT SELECT ON TABLE d.t WHERE NOT (a = 1 OR b != 2) AND c <> 3 AND d <= -4.5 AND e >= 1e3 AND f > 0 AND g < 10 TO ROLE r;
GRANT SELECT ON TABLE d.t WHERE a IN (1, 2, 3) OR b NOT IN ('x', "y") OR c BETWEEN 1 AND 10 OR d NOT BETWEEN 'a' AND 'm' TO ROLE r;
GRANT SELECT ON TABLE d.t WHERE name LIKE 'O''Br%' AND nick NOT LIKE '%x_' AND z IS NULL AND y IS NOT NULL TO ROLE r;
GRANT SELECT ON TABLE d.t WHERE ((a = 1)) AND (b = 2 AND c = 3) AND (d = 4 OR (e = 5 AND f = 6)) TO ROLE r;
GRANT SELECT ON TABLE d.t WHERE `select` = 'x' AND `AND` = 'y' AND `current_user` = current_user() AND flag TO ROLE r;
GRANT SELECT ON TABLE d.t WHERE TRUE TO ROLE everyone;
GRANT SELECT ON TABLE d.t WHERE NOT NOT flag = FALSE AND (x IS NULL) = TRUE TO ROLE r;
GRANT SELECT ON TABLE d.t
  TRANSFORM ssn WITH sha256
  TRANSFORM email WITH redact('[hidden]')
  TRANSFORM phone WITH null
  TRANSFORM card WITH mask()
  TRANSFORM pii.token WITH tokenize()
  TRANSFORM salary WITH ZERO
  TRANSFORM born WITH round_date(month)
  TRANSFORM seen WITH round_date('HOUR')
  TRANSFORM `select` WITH NULL()
  TO ROLE masked;
GRANT SELECT ON DATABASE hr HAVING ATTRIBUTE NOT IN (pii, finance.salary) TO ROLE no_pii;
GRANT SELECT ON DATABASE hr HAVING ATTRIBUTE IN (PII) TRANSFORM pii.ssn WITH mask_last(04) TRANSFORM pii.email WITH redact('it''s hidden') TO ROLE pii_masked;
GRANT SELECT ON TABLE hr.people HAVING ATTRIBUTE IN (pii.ssn, hr) WHERE dept = 'x' TRANSFORM pii.ssn WITH mask TO ROLE r;
REVOKE SELECT ON TABLE hr.people FROM ROLE r;
ALTER TABLE hr.people ALTER COLUMN SSN SET ATTRIBUTES PII.SSN, pii.id_1;
ALTER TABLE hr.people ALTER COLUMN `select` UNSET ATTRIBUTES pii.ssn;
