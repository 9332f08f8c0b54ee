package jwtauth

// WaitForJWKSRefresh waits for a background JWKS refresh under way.
func WaitForJWKSRefresh(a *Authenticator) {
	if a.jwks != nil {
		a.jwks.wait()
	}
}

// ParseJWKS exposes parseJWKS: the algorithms of each usable key and the
// number of keys in the document.
func ParseJWKS(data []byte) (algs [][]string, total int, err error) {
	set, err := parseJWKS(data)
	if err != nil {
		return nil, 0, err
	}
	for _, k := range set.keys {
		for _, alg := range k.algs {
			if err := checkKeyForAlgorithm(k.key, alg); err != nil {
				panic("parseJWKS returned a key unfit for its algorithm: " + err.Error())
			}
		}
		algs = append(algs, k.algs)
	}
	return algs, set.total, nil
}
