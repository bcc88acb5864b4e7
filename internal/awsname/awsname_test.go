package awsname

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseFunction(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Function
		form Form
		ok   bool
	}{
		{in: "my-fn", want: Function{Name: "my-fn"}, ok: true},
		{in: "my-fn:live", want: Function{Name: "my-fn", Qualifier: "live"}, ok: true},
		{in: "123456789012:function:my-fn", want: Function{Account: "123456789012", Name: "my-fn"}, form: FormPartial, ok: true},
		{in: "123456789012:function:my-fn:7", want: Function{Account: "123456789012", Name: "my-fn", Qualifier: "7"}, form: FormPartial, ok: true},
		{in: "arn:aws:lambda:us-east-1:123456789012:function:my-fn", form: FormARN, ok: true,
			want: Function{Partition: "aws", Region: "us-east-1", Account: "123456789012", Name: "my-fn"}},
		{in: "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f:$LATEST", form: FormARN, ok: true,
			want: Function{Partition: "aws-us-gov", Region: "us-gov-west-1", Account: "123456789012", Name: "f", Qualifier: "$LATEST"}},
		{in: "", ok: false},
		{in: "a:b:c", ok: false},
		{in: "arn:aws:s3:::bucket", form: FormARN, ok: false},
		{in: "arn:aws:lambda:us-east-1:123456789012:function:f:live:extra", form: FormARN, ok: false},
		{in: "123456789012:function:f:q:x", form: FormPartial, ok: false},
		{in: "bad name", ok: false},
		{in: "f:", ok: false},
		{in: "f:bad.qualifier", ok: false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, form, ok := ParseFunction(tc.in)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.form, form)
			if ok {
				require.Equal(t, tc.want, got)
			}
		})
	}
}

func TestNames(t *testing.T) {
	require.Equal(t, "f", FunctionName("arn:aws:lambda:us-east-1:123456789012:function:f:live"))
	require.Equal(t, "live", QualifierOf("arn:aws:lambda:us-east-1:123456789012:function:f:live"))
	require.Equal(t, "", QualifierOf("arn:aws:lambda:us-east-1:123456789012:function:f"))
	require.Equal(t, "not a ref", FunctionName("not a ref"))
	require.Equal(t, "arn:aws:lambda:eu-west-1:123456789012:function:f:live", ARN("aws", "eu-west-1", "123456789012", "f", "live"))
	for r, ok := range map[string]bool{"us-east-1": true, "ap-southeast-10": true, "us-gov-west-1": true, "useast1": false, "US-EAST-1": false, "": false} {
		require.Equal(t, ok, ValidRegion(r), r)
	}
	require.True(t, ValidAccount("123456789012"))
	require.False(t, ValidAccount("12345678901"))
	require.True(t, ValidQualifier("$LATEST"))
	require.False(t, ValidFunctionName("a:b"))
}

func FuzzParseFunction(f *testing.F) {
	for _, s := range []string{"f", "f:q", "1:function:f", "arn:aws:lambda:r:1:function:f:q", "::::::::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fn, form, ok := ParseFunction(s)
		if !ok {
			return
		}
		// What parses names a valid function, and its ARN parses back to it.
		require.True(t, ValidFunctionName(fn.Name))
		if form == FormARN {
			back, _, ok := ParseFunction(ARN(fn.Partition, fn.Region, fn.Account, fn.Name, fn.Qualifier))
			require.True(t, ok)
			require.Equal(t, fn, back)
		}
	})
}
