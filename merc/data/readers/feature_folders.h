#pragma once
// Per-utterance feature folders as GCNet, MoMKE and ComP store them (zeroQiaoba/GCNet
// gcnet/dataloader_iemocap.py and dataloader_cmumosi.py, `read_data`), and semantic-vector
// folders in the same layout (files only):
//
//   <dir>/<uid>.npy   one array per utterance, squeezed to [D] or [T, D]; [T, D] is averaged over
//                     time (audio/text, and accepted for video too)
//   <dir>/<uid>/      a directory of per-face .npy files (video), each squeezed to [D], averaged.
//                     IEMOCAP (faces_by_speaker): a face file whose name contains 'F' belongs to the
//                     female speaker, else one containing 'M' to the male speaker (GCNet checks 'F'
//                     first); the utterance's own speaker's faces are averaged, which is what
//                     GCNet's host/guest tensors + generate_inputs select.
//
// An utterance whose speaker has no face (empty directory) gets a zero vector, as in GCNet, and is
// marked not observed in Dialogue::present. Every utterance must have exactly one of the two
// entries; all vectors of one modality must have the same D. Files other than *.npy inside a face
// directory are ignored.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "merc/data/dataset.h"
#include "merc/io/ndarray.h"

namespace merc::data {

struct FeatureFolderOptions {
  // IEMOCAP layout: face file names carry the speaker letter (F/M) and only faces of the
  // utterance's speaker (Utterance::speaker_name) are averaged. Otherwise all faces are averaged.
  bool faces_by_speaker = false;
};

// Loads every modality in `dirs` for every utterance of `dataset` (by Utterance::id), sets
// DatasetInfo::modality_dims / modality_sources (the folder name, e.g. "wav2vec-large-c-UTT") and
// the presence masks. Throws FormatError naming the uid and the expected path when an utterance
// has no entry, and naming the file for unreadable or wrongly shaped arrays.
void load_feature_folders(Dataset& dataset, const std::map<Modality, std::filesystem::path>& dirs,
                          const FeatureFolderOptions& options = {});

// Loads per-utterance semantic vectors (Dialogue::semantic, docs/semantic_vectors.md) from `dir`:
// one <uid>.npy per utterance, squeezed and time-averaged exactly like a modality's feature file
// (face directories are not accepted). Where utterance ids repeat in the dataset (MELD and
// DailyDialog tables number dialogues per split), every file is <dir>/<dialogue id>/<uid>.npy
// instead, the dialogue id's '/' separating sub-folders (train/dia0/dia0_utt0.npy). Sets
// DatasetInfo::semantic_dim and semantic_source (the folder name); replaces vectors the dataset
// already had, and leaves the dataset unchanged on error. Works on any dataset, whatever read it.
// Throws FormatError naming the uid and the expected path when an utterance has no file, and
// naming the file when its dim differs from the first file's or it is unreadable.
void load_semantic_folder(Dataset& dataset, const std::filesystem::path& dir);

// GCNet's np.squeeze + time average: drops size-1 axes (keeping at least one axis); [D] is
// returned as is, [T, D] averaged over T. Other ranks or an empty array are a FormatError naming
// `path`.
std::vector<float> squeeze_to_vector(const io::NdArray& array, const std::string& path);

}  // namespace merc::data
