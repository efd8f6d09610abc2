package ops

import "github.com/azimuthcd/azimuth/internal/task"

// The task kinds of ACR artifacts.
const (
	// KindACRRegistries lists the registries of a subscription or
	// resource group (ARM: needs Reader).
	KindACRRegistries task.Kind = "acr.registries"
	// KindACRRepositories lists a registry's repositories (data plane).
	KindACRRepositories task.Kind = "acr.repositories"
	// KindACRTags lists one page of a repository's tags (data plane).
	KindACRTags task.Kind = "acr.tags"
	// KindACRTag describes one tag: digest, media type, platforms, times.
	KindACRTag task.Kind = "acr.tag"
	// KindACRLatestTag finds the newest tag matching a regex, or checks a
	// given tag (Harness's last successful build).
	KindACRLatestTag task.Kind = "acr.latesttag"
	// KindACRLoginCredentials returns docker login credentials for a
	// registry (the null GUID and an ACR refresh token).
	KindACRLoginCredentials task.Kind = "acr.logincredentials"
)

// acrKinds are the executors of ACR artifacts.
func acrKinds() map[task.Kind]Func {
	return map[task.Kind]Func{
		KindACRRegistries:       ListRegistries,
		KindACRRepositories:     ListRepositories,
		KindACRTags:             ListTags,
		KindACRTag:              GetTag,
		KindACRLatestTag:        LatestTag,
		KindACRLoginCredentials: GetLoginCredentials,
	}
}
