package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// JobKeys issues the short-lived credential a deployment's commands run with. Nothing is
// stored: the access key id carries the account, the deployment and the expiry, and the
// secret is an HMAC of the id under a key every replica shares, so any replica can check a
// credential and none outlives its deployment's timeout.
type JobKeys struct{ key []byte }

// NewJobKeys uses key (at least 32 random bytes, shared by every replica).
func NewJobKeys(key []byte) *JobKeys { return &JobKeys{key: key} }

// jobKeyPrefix marks job credentials; ordinary key ids never start with it.
const jobKeyPrefix = "OPJOB"

var jobKeyEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Issue returns a credential for one attempt of a deployment, valid until expires.
func (k *JobKeys) Issue(accountID, deploymentID string, attempt int, expires time.Time) (accessKeyID, secret string) {
	payload := accountID + "/" + deploymentID + "/" + strconv.Itoa(attempt) + "/" + strconv.FormatInt(expires.Unix(), 10)
	id := jobKeyPrefix + jobKeyEncoding.EncodeToString([]byte(payload))
	return id, k.secret(id)
}

// Parse reads a job credential's id; ok is false for ids that are not job credentials or
// have expired by now.
func (k *JobKeys) Parse(accessKeyID string, now time.Time) (accountID, deploymentID string, attempt int, ok bool) {
	enc, found := strings.CutPrefix(accessKeyID, jobKeyPrefix)
	if !found {
		return "", "", 0, false
	}
	raw, err := jobKeyEncoding.DecodeString(enc)
	if err != nil {
		return "", "", 0, false
	}
	parts := strings.Split(string(raw), "/")
	if len(parts) != 4 {
		return "", "", 0, false
	}
	attempt, err = strconv.Atoi(parts[2])
	if err != nil {
		return "", "", 0, false
	}
	exp, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil || now.Unix() > exp {
		return "", "", 0, false
	}
	return parts[0], parts[1], attempt, true
}

// Secret is the secret key of a job credential id.
func (k *JobKeys) Secret(accessKeyID string) string { return k.secret(accessKeyID) }

func (k *JobKeys) secret(id string) string {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(id))
	return base64.RawStdEncoding.EncodeToString(m.Sum(nil))
}
