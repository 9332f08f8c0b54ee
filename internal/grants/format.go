package grants

import "strings"

// Format prints stmts in canonical form: upper-case keywords, single-quoted
// s3:// URIs, names backquoted only when they must be, one statement per line
// ending in ";". Parse(Format(stmts)) returns statements equal to stmts.
func Format(stmts []Statement) string {
	var b strings.Builder
	for _, st := range stmts {
		b.WriteString(st.String())
		b.WriteString(";\n")
	}
	return b.String()
}

// quoteIdent prints a name bare when it is a plain identifier and not a
// keyword, and between backquotes otherwise.
func quoteIdent(name string) string {
	if name == "" || !isIdentStart(name[0]) || isReserved(name) {
		return "`" + name + "`"
	}
	for i := 1; i < len(name); i++ {
		if !isIdentPart(name[i]) {
			return "`" + name + "`"
		}
	}
	return name
}

func (s *CreateRole) String() string {
	if s.IfNotExists {
		return "CREATE ROLE IF NOT EXISTS " + quoteIdent(s.Name)
	}
	return "CREATE ROLE " + quoteIdent(s.Name)
}

func (s *DropRole) String() string {
	if s.IfExists {
		return "DROP ROLE IF EXISTS " + quoteIdent(s.Name)
	}
	return "DROP ROLE " + quoteIdent(s.Name)
}

func (s *GrantRole) String() string {
	return "GRANT ROLE " + quoteIdent(s.Role) + " TO GROUP " + quoteIdent(s.Group)
}

func (s *RevokeRole) String() string {
	return "REVOKE ROLE " + quoteIdent(s.Role) + " FROM GROUP " + quoteIdent(s.Group)
}

func (s *GrantPrivileges) String() string {
	out := "GRANT " + privilegesOn(s.Privileges, s.Object)
	if s.Attributes != nil {
		out += " " + s.Attributes.String()
	}
	if where := s.whereText(); where != "" {
		out += " WHERE " + where
	}
	for _, t := range s.Transforms {
		out += " " + t.String()
	}
	return out + " TO ROLE " + quoteIdent(s.Role)
}

func (s *RevokePrivileges) String() string {
	return "REVOKE " + privilegesOn(s.Privileges, s.Object) + " FROM ROLE " + quoteIdent(s.Role)
}

func (*ShowRoles) String() string { return "SHOW ROLES" }

func (s *ShowGrants) String() string { return "SHOW GRANTS ON ROLE " + quoteIdent(s.Role) }

func (s *ShowRoleGrant) String() string { return "SHOW ROLE GRANT GROUP " + quoteIdent(s.Group) }

func (*ShowCurrentRoles) String() string { return "SHOW CURRENT ROLES" }

// privilegesOn prints "privs ON object", the column list following SELECT.
func privilegesOn(privs Privileges, o Object) string {
	var b strings.Builder
	for i, p := range privs.List() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.String())
		if p == Select && o.Columns != nil {
			b.WriteByte('(')
			for j, c := range o.Columns {
				if j > 0 {
					b.WriteString(", ")
				}
				b.WriteString(quoteIdent(c))
			}
			b.WriteByte(')')
		}
	}
	b.WriteString(" ON ")
	b.WriteString(o.String())
	return b.String()
}

// String prints the object as it follows ON, without any column list.
func (o Object) String() string {
	switch o.Kind {
	case ObjectURI:
		return "URI '" + o.URI() + "'"
	case ObjectServer:
		return "SERVER"
	case ObjectDatabase:
		return "DATABASE " + quoteIdent(o.Database)
	case ObjectTable:
		return "TABLE " + quoteIdent(o.Database) + "." + quoteIdent(o.Table)
	}
	return "?"
}
