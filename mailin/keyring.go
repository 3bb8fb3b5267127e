package mailin

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Keyring seals and opens mailbox passwords with AES-256-GCM. It seals with its current key and
// opens with any key it holds, so that a key can be rotated: start every node with the new key
// in HELPDESK_ENCRYPTION_KEY and the old one in HELPDESK_ENCRYPTION_OLD_KEYS, let Rekey (run at
// start-up by serve) reseal the stored passwords, then drop the old key.
type Keyring struct {
	current *sealKey
	old     []*sealKey
}

type sealKey struct {
	id   [4]byte
	aead cipher.AEAD
}

// ErrNoKey means no encryption key is configured, so passwords can be neither stored nor read.
var ErrNoKey = errors.New("HELPDESK_ENCRYPTION_KEY is not set, so mailbox passwords cannot be stored or read")

// sealVersion leads every sealed value, so that the format can change later.
const sealVersion = 1

// purpose is authenticated with every password, so a sealed value from another use of the same
// key cannot be passed off as a mailbox password.
var purpose = []byte("helpdesk mailbox password")

// NewKeyring returns a keyring sealing with current (32 bytes) and also opening with old. A nil
// current key gives a keyring that refuses to seal or open.
func NewKeyring(current []byte, old ...[]byte) (*Keyring, error) {
	k := &Keyring{}
	if current == nil {
		return k, nil
	}
	var err error
	if k.current, err = newSealKey(current); err != nil {
		return nil, err
	}
	for _, o := range old {
		sk, err := newSealKey(o)
		if err != nil {
			return nil, err
		}
		k.old = append(k.old, sk)
	}
	return k, nil
}

func newSealKey(key []byte) (*sealKey, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("mailin: encryption key must be 32 bytes, not %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("mailin: encryption key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("mailin: encryption key: %w", err)
	}
	sum := sha256.Sum256(key)
	sk := &sealKey{aead: aead}
	copy(sk.id[:], sum[:4])
	return sk, nil
}

// CanSeal reports whether a current key is configured.
func (k *Keyring) CanSeal() bool { return k != nil && k.current != nil }

// Seal encrypts a password with the current key: version, key id, nonce, then ciphertext.
func (k *Keyring) Seal(plain string) ([]byte, error) {
	if !k.CanSeal() {
		return nil, ErrNoKey
	}
	nonce := make([]byte, k.current.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("mailin: seal: %w", err)
	}
	out := append([]byte{sealVersion}, k.current.id[:]...)
	out = append(out, nonce...)
	return k.current.aead.Seal(out, nonce, []byte(plain), purpose), nil
}

// Open decrypts a sealed password with whichever held key sealed it.
func (k *Keyring) Open(sealed []byte) (string, error) {
	if !k.CanSeal() {
		return "", ErrNoKey
	}
	if len(sealed) < 5 || sealed[0] != sealVersion {
		return "", errors.New("mailin: open password: not a sealed value")
	}
	for _, sk := range append([]*sealKey{k.current}, k.old...) {
		if !bytes.Equal(sk.id[:], sealed[1:5]) {
			continue
		}
		rest := sealed[5:]
		n := sk.aead.NonceSize()
		if len(rest) < n {
			return "", errors.New("mailin: open password: truncated")
		}
		plain, err := sk.aead.Open(nil, rest[:n], rest[n:], purpose)
		if err != nil {
			return "", errors.New("mailin: open password: it does not authenticate under its key")
		}
		return string(plain), nil
	}
	return "", errors.New("mailin: open password: sealed with a key that is not configured (add it to HELPDESK_ENCRYPTION_OLD_KEYS)")
}

// current reports whether sealed was sealed with the current key.
func (k *Keyring) sealedWithCurrent(sealed []byte) bool {
	return k.CanSeal() && len(sealed) >= 5 && bytes.Equal(sealed[1:5], k.current.id[:])
}
