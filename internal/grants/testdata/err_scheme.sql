GRANT SELECT ON URI 'gs://bucket/path' TO ROLE r;
