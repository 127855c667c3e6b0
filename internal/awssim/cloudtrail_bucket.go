package awssim

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The organization trail's bucket, through the S3 API: ListObjectsV2
// (prefix, delimiter, max-keys, continuation-token, start-after) and
// GetObject. Only principals of the management account read it, as the
// trail's bucket policy would allow; the bucket is in us-east-1. A
// scenario's own buckets hold no objects: listing one answers an empty
// page, and GetObject NoSuchKey.

type s3ListObjectsResult struct {
	XMLName               xml.Name         `xml:"ListBucketResult"`
	Xmlns                 string           `xml:"xmlns,attr"`
	Name                  string           `xml:"Name"`
	Prefix                string           `xml:"Prefix"`
	Delimiter             string           `xml:"Delimiter,omitempty"`
	MaxKeys               int              `xml:"MaxKeys"`
	KeyCount              int              `xml:"KeyCount"`
	IsTruncated           bool             `xml:"IsTruncated"`
	ContinuationToken     string           `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string           `xml:"NextContinuationToken,omitempty"`
	StartAfter            string           `xml:"StartAfter,omitempty"`
	Contents              []s3Object       `xml:"Contents"`
	CommonPrefixes        []s3CommonPrefix `xml:"CommonPrefixes"`
}

type s3Object struct {
	Key          string  `xml:"Key"`
	LastModified xmlTime `xml:"LastModified"`
	ETag         string  `xml:"ETag"`
	Size         int     `xml:"Size"`
	StorageClass string  `xml:"StorageClass"`
}

type s3CommonPrefix struct {
	Prefix string `xml:"Prefix"`
}

// trailBucketAccess checks a call on the trail bucket: the management
// account's principals, signed for us-east-1.
func (c *call) trailBucketAccess() *apiError {
	if c.p.account != c.s.sc.Organization.ManagementAccount {
		return accessDenied("User: %s is not authorized to perform: %s on resource: arn:aws:s3:::%s because no resource-based policy allows the %s action",
			c.p.arn(), c.iamAction(), c.s.TrailBucket(), c.iamAction())
	}
	if c.region != "" && c.region != defaultRegion {
		return errf(http.StatusBadRequest, "AuthorizationHeaderMalformed",
			"The authorization header is malformed; the region '%s' is wrong; expecting '%s'", c.region, defaultRegion)
	}
	return nil
}

func s3ListObjectsV2(c *call) (any, *apiError) {
	bucket := c.param("Bucket")
	q := c.form
	out := s3ListObjectsResult{Xmlns: s3Namespace, Name: bucket, Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"),
		MaxKeys: 1000, ContinuationToken: q.Get("continuation-token"), StartAfter: q.Get("start-after")}
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, errf(http.StatusBadRequest, "InvalidArgument", "Provided max-keys not an integer or within integer range")
		}
		out.MaxKeys = min(n, 1000)
	}
	var keys []string
	var sizes map[string]int
	switch {
	case bucket == c.s.TrailBucket():
		if e := c.trailBucketAccess(); e != nil {
			return nil, e
		}
		l := &c.s.trail
		l.mu.Lock()
		l.deliver(c.s.sc.Organization.ID)
		keys = slices.Clone(l.keys)
		sizes = map[string]int{}
		for _, k := range keys {
			sizes[k] = len(l.objects[k])
		}
		l.mu.Unlock()
	default:
		if _, b := c.s.findBucket(bucket); b == nil {
			return nil, errf(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
		}
	}
	slices.Sort(keys)
	after := out.StartAfter
	if t := out.ContinuationToken; t != "" {
		b, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil {
			return nil, errf(http.StatusBadRequest, "InvalidArgument", "The continuation token provided is incorrect")
		}
		after = string(b)
	}
	seen := map[string]bool{}
	last := ""
	for _, k := range keys {
		if !strings.HasPrefix(k, out.Prefix) || k <= after {
			continue
		}
		entry := k
		if d := out.Delimiter; d != "" {
			if i := strings.Index(k[len(out.Prefix):], d); i >= 0 {
				entry = k[:len(out.Prefix)+i+len(d)]
			}
		}
		if seen[entry] {
			continue
		}
		if out.KeyCount == out.MaxKeys {
			out.IsTruncated = true
			out.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(last))
			break
		}
		seen[entry] = true
		out.KeyCount++
		if entry != k {
			out.CommonPrefixes = append(out.CommonPrefixes, s3CommonPrefix{Prefix: entry})
			// Everything under the prefix sorts before the next entry.
			last = entry + "\uffff"
			continue
		}
		last = k
		out.Contents = append(out.Contents, s3Object{Key: k, LastModified: xmlTime(trailKeyTime(k)),
			ETag: `"` + stableID(32, "etag", k) + `"`, Size: sizes[k], StorageClass: "STANDARD"})
	}
	return xmlResponse(out)
}

func s3GetObject(c *call) (any, *apiError) {
	bucket, key := c.param("Bucket"), c.param("Key")
	noKey := errf(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
	if bucket != c.s.TrailBucket() {
		if _, b := c.s.findBucket(bucket); b == nil {
			return nil, errf(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
		}
		return nil, noKey
	}
	if e := c.trailBucketAccess(); e != nil {
		return nil, e
	}
	l := &c.s.trail
	l.mu.Lock()
	l.deliver(c.s.sc.Organization.ID)
	body, ok := l.objects[key]
	l.mu.Unlock()
	if !ok {
		return nil, noKey
	}
	return &restResponse{status: http.StatusOK, contentType: "application/x-gzip", body: body}, nil
}

// trailKeyTime is the delivery window a trail object's key names.
func trailKeyTime(key string) time.Time {
	parts := strings.Split(key[strings.LastIndex(key, "/")+1:], "_")
	if len(parts) >= 5 {
		if t, err := time.Parse("20060102T1504Z", parts[3]); err == nil {
			return t.Add(trailWindow)
		}
	}
	return time.Time{}
}
