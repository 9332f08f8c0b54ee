package quickstart

import (
	"fmt"
	"io"
	"strings"

	"github.com/lakegate/lakegate/internal/client"
)

// Profile is an AWS CLI profile pointing at the proxy.
type Profile struct {
	Name            string
	EndpointURL     string
	AccessKeyID     string
	SecretAccessKey string
	Region          string
}

// Section renders the profile as a ~/.aws/config section, ending in a
// newline.
func (p Profile) Section() string {
	return fmt.Sprintf(`[profile %s]
endpoint_url = %s
aws_access_key_id = %s
aws_secret_access_key = %s
region = %s
s3 =
    signature_version = s3v4
`, p.Name, p.EndpointURL, p.AccessKeyID, p.SecretAccessKey, p.Region)
}

func (q *Instance) printBanner(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\nlakegate quickstart is running.\n\n")
	fmt.Fprintf(&b, "  S3 access proxy:  %s\n", q.Profile.EndpointURL)
	if q.RESTURL != "" {
		fmt.Fprintf(&b, "  REST API:         %s\n", q.RESTURL)
	}
	fmt.Fprintf(&b, "  data directory:   %s\n\n", q.DataDir)
	fmt.Fprintf(&b, "Add this profile to ~/.aws/config (or start with --write-aws-config):\n\n")
	b.WriteString(q.Profile.Section())
	fmt.Fprintf(&b, "\nThen:\n\n")
	fmt.Fprintf(&b, "  aws --profile %s s3 mb s3://demo\n", q.Profile.Name)
	fmt.Fprintf(&b, "  echo hello | aws --profile %s s3 cp - s3://demo/hello.txt\n", q.Profile.Name)
	fmt.Fprintf(&b, "  aws --profile %s s3 ls s3://demo/\n\n", q.Profile.Name)
	fmt.Fprintf(&b, "Admin token for the REST API and the lakegate CLI:\n\n")
	fmt.Fprintf(&b, "LAKEGATE_TOKEN=%s\n", q.Token)
	if q.RESTURL != "" && q.RESTURL != client.DefaultServer {
		// The CLI's default server is elsewhere: tell it where.
		fmt.Fprintf(&b, "LAKEGATE_SERVER=%s\n", q.RESTURL)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "Press Ctrl-C to stop.\n")
	_, err := io.WriteString(w, b.String())
	return err
}
