-- Seed 000, Spark example step 2, as printed in the Okera docs: the URI
-- string is never closed, so this must fail with the position of the quote.
CREATE ROLE analysts;
GRANT ROLE analysts TO GROUP user_b;
GRANT SELECT ON TABLE source.transactions TO ROLE analysts;
GRANT ALL ON URI 's3://experimental/workspaces/ TO ROLE analysts;
