create role analysts;
grant role analysts to group user_b;
grant select on table source.transactions to role analysts;
grant all on uri 's3://experimental/workspaces/' to role analysts
